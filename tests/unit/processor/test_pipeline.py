"""Pipeline end to end in memory: confluent-kafka's mock registry (``mock://``, unit tests only) and MemorySink."""

from __future__ import annotations

import asyncio
import io
import json
import random
from collections import Counter
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.audit import AUDIT_SCHEMA, SourcePosition
from streams.deadletter import DeadLetterSealer
from streams.devtools.generator.debezium import CrmCdcGenerator
from streams.devtools.leaks import LeakScanner
from streams.errors import ReasonCode
from streams.kafka.registry import SchemaCache
from streams.keys import KeyRing
from streams.memory_sink import MemorySink
from streams.memory_sink import SentRecord as Sent
from streams.policy.loader import LoadedPolicy
from streams.ports import BatchStats, Headers, RawRecord
from streams.processor.pipeline import Pipeline
from streams.subject_state import derive_state_key

from ..support import (
    ACCOUNTS_TOPIC,
    CANARY_MARK,
    CONTACT_CANARIES,
    CONTACT_CANARY_ACCOUNT_ID,
    CONTACT_CANARY_ID,
    CONTACTS_TOPIC,
    DEAD_LETTER_KEY,
    DEAD_LETTER_KEY_ID,
    TEST_KEY,
    account_envelope,
    account_row,
    contact_envelope,
    contact_row,
    load_avsc,
    mysql_source,
)

AUDIT_TOPIC = "crm.audit.test"
DLQ_TOPIC = "crm.deadletter.test"
OUT_CONTACTS = "anon.crm.public.contacts"
OUT_ACCOUNTS = "anon.crmdb.crm.accounts"


class Harness:
    def __init__(self, loaded: LoadedPolicy, keyring: KeyRing) -> None:
        self.registry = SchemaRegistryClient.new_client({"url": "mock://unit-test"})
        self.sink = MemorySink()
        self.sealer = DeadLetterSealer(DEAD_LETTER_KEY, DEAD_LETTER_KEY_ID)
        self.loaded = loaded
        self.keyring = keyring
        self.pipeline = self.make_pipeline(self.registry)
        self.ids: dict[tuple[str, str], int] = {}
        self.parsed: dict[tuple[str, str], Any] = {}
        for topic in (CONTACTS_TOPIC, ACCOUNTS_TOPIC):
            for part in ("key", "value"):
                schema = load_avsc(topic, part)
                self.ids[(topic, part)] = self.registry.register_schema(
                    f"{topic}-{part}", Schema(json.dumps(schema), "AVRO")
                )
                self.parsed[(topic, part)] = parse_schema(schema)
        self._offset = 0

    def make_pipeline(self, registry: Any, loaded: LoadedPolicy | None = None, **options: Any) -> Pipeline:
        """A pipeline wired like ``processor.compose.build_pipeline``, with test keys and an in-memory sink;
        ``loaded`` replaces the harness's policy, ``options`` go to :class:`Pipeline` (secrets, limits)."""
        return Pipeline(
            loaded or self.loaded,
            self.keyring,
            SchemaCache(registry),
            self.sink,
            self.sealer,
            audit_topic=AUDIT_TOPIC,
            dead_letter_topic=DLQ_TOPIC,
            **options,
        )

    def frame(self, topic: str, part: str, record: Any) -> bytes:
        buf = io.BytesIO()
        buf.write(b"\x00" + self.ids[(topic, part)].to_bytes(4, "big"))
        schemaless_writer(buf, self.parsed[(topic, part)], record)
        return buf.getvalue()

    def raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
    ) -> RawRecord:
        self._offset += 1
        return RawRecord(topic, 0, self._offset, 1_760_000_000_000 + self._offset, key, value, headers or [])

    def event(self, topic: str, key: dict[str, Any] | None, value: dict[str, Any] | None) -> RawRecord:
        return self.raw(
            topic,
            self.frame(topic, "key", key) if key is not None else None,
            self.frame(topic, "value", value) if value is not None else None,
        )

    def process(self, records: list[RawRecord]) -> BatchStats:
        return asyncio.run(self.pipeline.process(records))

    def decode(self, frame: bytes | None) -> Any:
        assert frame is not None
        assert frame[0] == 0
        schema_id = int.from_bytes(frame[1:5], "big")
        schema = json.loads(self.registry.get_schema(schema_id).schema_str)
        return schemaless_reader(io.BytesIO(frame[5:]), parse_schema(schema), None)

    def audits(self) -> list[dict[str, Any]]:
        return [self.decode(s.value) for s in self.sink.on(AUDIT_TOPIC)]

    def letters(self) -> list[tuple[Sent, dict[str, Any]]]:
        return [(s, self.decode(s.value)) for s in self.sink.on(DLQ_TOPIC)]


@pytest.fixture
def harness(loaded_policy: LoadedPolicy, keyring: KeyRing) -> Harness:
    return Harness(loaded_policy, keyring)


def canary_contact() -> dict[str, Any]:
    return contact_row(id=CONTACT_CANARY_ID, account_id=CONTACT_CANARY_ACCOUNT_ID, **CONTACT_CANARIES)


def test_good_events_are_published_with_tokenized_keys_and_provenance(harness: Harness) -> None:
    records = [
        harness.event(CONTACTS_TOPIC, {"id": 1001}, contact_envelope("c", None, contact_row())),
        harness.event(
            CONTACTS_TOPIC, {"id": 1001}, contact_envelope("u", contact_row(), contact_row(phone="+44 20 7946 0000"))
        ),
        harness.event(CONTACTS_TOPIC, {"id": 1001}, contact_envelope("d", contact_row(), None)),
        harness.event(CONTACTS_TOPIC, {"id": 1001}, None),
    ]
    stats = harness.process(records)
    assert (stats.published, stats.dead_lettered, stats.audited) == (4, 0, 4)
    # Two drains per batch: outputs first, then audits (audits say PUBLISHED only for records the broker took).
    assert harness.sink.drained_at == [4, len(harness.sink.sent)]

    published = harness.sink.on(OUT_CONTACTS)
    assert len(published) == 4
    keys = [harness.decode(p.key) for p in published]
    assert all(k == keys[0] for k in keys)
    assert keys[0]["id"].startswith("tok_ut1_")
    assert set(keys[0]) == {"id"}

    values = [harness.decode(p.value) for p in published[:3]]
    assert published[3].value is None  # tombstone stays a tombstone
    assert [v["op"] for v in values] == ["c", "u", "d"]
    assert values[0]["after"]["id"] == keys[0]["id"]  # key and row give the same token
    assert values[1]["before"]["email"] == values[1]["after"]["email"]
    assert values[1]["after"]["phone"] == "+** ** **** **00"
    assert "updated_at" not in values[0]["after"]
    assert values[2]["after"] is None

    loaded = harness.loaded
    for p in published:
        headers = dict(p.headers)
        assert headers["crm-anonymizer-anonymized"] == b"true"
        assert headers["crm-anonymizer-policy-id"] == loaded.policy.id.encode()
        assert headers["crm-anonymizer-policy-version"] == str(loaded.policy.version).encode()
        assert headers["crm-anonymizer-policy-hash"] == loaded.content_hash.encode()
        assert "crm-anonymizer-processor-version" in headers

    # the derived schemas were registered under the output topic's subjects
    key_schema = json.loads(harness.registry.get_latest_version(f"{OUT_CONTACTS}-key").schema.schema_str)
    assert key_schema["name"] == "anon.crm.public.contacts.Key"
    value_schema = harness.registry.get_latest_version(f"{OUT_CONTACTS}-value").schema.schema_str
    assert "updated_at" not in value_schema


def test_one_audit_per_input_with_outcomes(harness: Harness) -> None:
    records = [
        harness.event(CONTACTS_TOPIC, {"id": 7}, contact_envelope("r", None, contact_row(id=7))),
        harness.event(CONTACTS_TOPIC, {"id": 7}, None),
        harness.raw(CONTACTS_TOPIC, b"\x00\x00", None),
    ]
    harness.process(records)
    audits = harness.audits()
    assert len(audits) == len(records)
    assert sorted(a["source_offset"] for a in audits) == sorted(r.offset for r in records)
    by_offset = {a["source_offset"]: a for a in audits}
    first = by_offset[records[0].offset]
    assert first["outcome"] == "PUBLISHED"
    assert first["operation"] == "r"
    assert first["output_topic"] == OUT_CONTACTS
    assert first["policy_hash"] == harness.loaded.content_hash
    assert first["uncovered_fields"] == ["updated_at"]
    assert {"path": "key.id", "action": "tokenize(scope=contact,key=ut1)"} in first["field_actions"]
    assert first["key_schema_id_in"] == harness.ids[(CONTACTS_TOPIC, "key")]
    assert first["value_schema_id_in"] == harness.ids[(CONTACTS_TOPIC, "value")]
    assert first["value_schema_id_out"] is not None
    tomb = by_offset[records[1].offset]
    assert tomb["operation"] == "TOMBSTONE"
    assert tomb["outcome"] == "PUBLISHED"
    assert tomb["value_schema_id_out"] is None
    assert tomb["key_schema_id_out"] == first["key_schema_id_out"]
    bad = by_offset[records[2].offset]
    assert bad["outcome"] == "DEAD_LETTERED"
    assert bad["reason_code"] == str(ReasonCode.TRUNCATED_FRAME)
    # audits are keyed by source topic/partition
    assert {s.key for s in harness.sink.on(AUDIT_TOPIC)} == {f"{CONTACTS_TOPIC}/0".encode()}


def test_bad_records_go_to_the_dead_letter_topic_with_distinct_reasons(harness: Harness) -> None:
    good_key = harness.frame(CONTACTS_TOPIC, "key", {"id": 5})
    value_id = harness.ids[(CONTACTS_TOPIC, "value")]
    bad = {
        ReasonCode.TRUNCATED_FRAME: harness.raw(CONTACTS_TOPIC, good_key, b"\x00\x01"),
        ReasonCode.BAD_MAGIC_BYTE: harness.raw(
            CONTACTS_TOPIC, good_key, b"\x07" + CONTACT_CANARIES["email"].encode() * 3
        ),
        ReasonCode.UNKNOWN_SCHEMA_ID: harness.raw(
            CONTACTS_TOPIC, good_key, b"\x00" + (9999).to_bytes(4, "big") + b"\x02\x04"
        ),
        ReasonCode.AVRO_DECODE_ERROR: harness.raw(
            CONTACTS_TOPIC,
            good_key,
            b"\x00" + value_id.to_bytes(4, "big") + b"\x0e" + CONTACT_CANARIES["notes"].encode(),
        ),
        ReasonCode.NO_POLICY_FOR_SOURCE: harness.raw("crm.public.unknown", good_key, b"\x00\x00\x00\x00\x01"),
        ReasonCode.NULL_KEY: harness.raw(CONTACTS_TOPIC, None, None),
    }
    good = harness.event(CONTACTS_TOPIC, {"id": 5}, contact_envelope("c", None, contact_row(id=5)))
    records = [good, *bad.values()]
    stats = harness.process(records)
    assert (stats.published, stats.dead_lettered, stats.audited) == (1, len(bad), len(records))
    assert len(harness.sink.on(OUT_CONTACTS)) == 1

    letters = harness.letters()
    assert len(letters) == len(bad)
    by_offset = {letter["source_offset"]: (sent, letter) for sent, letter in letters}
    reasons = set()
    for code, record in bad.items():
        sent, letter = by_offset[record.offset]
        assert letter["reason_code"] == str(code)
        assert dict(sent.headers)["crm-anonymizer-reason"] == str(code).encode()
        assert letter["source_topic"] == record.topic
        assert letter["encryption_key_id"] == DEAD_LETTER_KEY_ID
        reasons.add(letter["reason_code"])
        # the raw record is recoverable by whoever holds the dead-letter key
        position = SourcePosition(record.topic, record.partition, record.offset, record.timestamp_ms)
        if record.value is not None:
            assert harness.sealer.open(letter["encrypted_value"], position, "value") == record.value
        else:
            assert letter["encrypted_value"] is None
        if record.key is not None:
            assert harness.sealer.open(letter["encrypted_key"], position, "key") == record.key
    assert len(reasons) == len(bad)

    unknown = by_offset[bad[ReasonCode.UNKNOWN_SCHEMA_ID].offset][1]
    assert unknown["value_schema_id"] == 9999
    assert unknown["key_schema_id"] == harness.ids[(CONTACTS_TOPIC, "key")]

    audits = {a["source_offset"]: a for a in harness.audits()}
    assert len(audits) == len(records)
    for code, record in bad.items():
        assert audits[record.offset]["outcome"] == "DEAD_LETTERED"
        assert audits[record.offset]["reason_code"] == str(code)
    assert audits[good.offset]["outcome"] == "PUBLISHED"

    everything = b"".join(
        (s.key or b"") + (s.value or b"") + b"".join(v for _, v in s.headers) for s in harness.sink.sent
    )
    assert CANARY_MARK.encode() not in everything


def test_bad_key_is_dead_lettered(harness: Harness) -> None:
    value = harness.frame(CONTACTS_TOPIC, "value", contact_envelope("c", None, contact_row()))
    key_id = harness.ids[(CONTACTS_TOPIC, "key")]
    trailing = harness.raw(CONTACTS_TOPIC, b"\x00" + key_id.to_bytes(4, "big") + b"\x02" + b"extra", value)
    stats = harness.process([trailing])
    assert stats.dead_lettered == 1
    [(_, letter)] = harness.letters()
    assert letter["reason_code"] == str(ReasonCode.AVRO_DECODE_ERROR)
    assert "trailing" in letter["reason_detail"]


def test_schema_the_policy_does_not_fit_is_a_policy_mismatch(harness: Harness) -> None:
    odd_key = {
        "type": "record",
        "name": "Key",
        "namespace": "crm.public.contacts",
        "fields": [{"name": "uuid", "type": "string"}],
    }
    key_id = harness.registry.register_schema(f"{CONTACTS_TOPIC}-key", Schema(json.dumps(odd_key), "AVRO"))
    key = b"\x00" + key_id.to_bytes(4, "big") + b"\x08abcd"
    records = [harness.raw(CONTACTS_TOPIC, key, None), harness.raw(CONTACTS_TOPIC, key, None)]
    stats = harness.process(records)
    assert stats.dead_lettered == 2
    letters = [letter for _, letter in harness.letters()]
    assert {letter["reason_code"] for letter in letters} == {str(ReasonCode.POLICY_SCHEMA_MISMATCH)}
    assert "no key field is covered" in letters[0]["reason_detail"]


def test_no_canary_in_any_sent_bytes(harness: Harness, capfd: pytest.CaptureFixture[str]) -> None:
    canary = canary_contact()
    query = "UPDATE accounts SET owner_email='CANARY-QUERY-7f3a@leak.test' WHERE id=1"
    account = account_row(
        id=CONTACT_CANARY_ACCOUNT_ID,
        name="CANARY-COMPANY-7f3a",
        website="https://CANARY-WEB-7f3a.example",
        phone="+1-202-555-7301",
        billing_street="CANARY-BSTREET-7f3a",
        owner_email="CANARY-OWNER-7f3a@leak.test",
        description="CANARY-DESC-7f3a",
    )
    secret_header = [("x-user-email", CONTACT_CANARIES["email"].encode())]
    records = [
        harness.event(CONTACTS_TOPIC, {"id": CONTACT_CANARY_ID}, contact_envelope("r", None, canary)),
        harness.event(
            CONTACTS_TOPIC, {"id": CONTACT_CANARY_ID}, contact_envelope("u", canary, dict(canary, job_title="Boss"))
        ),
        harness.event(CONTACTS_TOPIC, {"id": CONTACT_CANARY_ID}, contact_envelope("d", canary, None)),
        harness.event(CONTACTS_TOPIC, {"id": CONTACT_CANARY_ID}, None),
        harness.event(
            ACCOUNTS_TOPIC,
            {"id": CONTACT_CANARY_ACCOUNT_ID},
            account_envelope("u", account, account, source=mysql_source(query=query)),
        ),
        # a raw record with canaries that fails: only the sealed copy may carry them
        harness.raw(
            CONTACTS_TOPIC,
            harness.frame(CONTACTS_TOPIC, "key", {"id": CONTACT_CANARY_ID}),
            b"\x09" + json.dumps(canary).encode(),
            secret_header,
        ),
    ]
    stats = harness.process(records)
    assert (stats.published, stats.dead_lettered, stats.audited) == (5, 1, 6)

    scanner = LeakScanner([*CONTACT_CANARIES.values(), query, "CANARY", "leak.test", "+1-202-555-7301"])
    for sent in harness.sink.sent:
        scanner.scan(sent.key, sent.topic)
        scanner.scan(sent.value, sent.topic)
        for _, header in sent.headers:
            scanner.scan(header, f"{sent.topic}:headers")
    assert scanner.total == 0, scanner.found
    out, err = capfd.readouterr()
    assert "dead_lettered" in out + err  # the worker log saw the failure...
    assert CANARY_MARK not in out + err  # ...but none of the values

    # the published accounts record has no source.query and a tokenized name
    [account_out] = harness.sink.on(OUT_ACCOUNTS)
    value = harness.decode(account_out.value)
    assert "query" not in value["source"]
    assert value["after"]["name"].startswith("tok_ut1_")
    assert value["after"]["phone"] == "+*-***-***-**01"
    # account ids tokenize identically as the contact's account_id (same scope)
    contact_value = harness.decode(harness.sink.on(OUT_CONTACTS)[0].value)
    assert contact_value["after"]["account_id"] == value["after"]["id"]
    assert harness.decode(account_out.key)["id"] == value["after"]["id"]


def test_generated_batch_is_fully_accounted_for(harness: Harness) -> None:
    generator = CrmCdcGenerator(seed=21)
    events = list(generator.events(300))
    records = [harness.event(e.topic, e.key, e.value) for e in events]
    stats = harness.process(records)
    assert stats.published == len(events)
    assert stats.dead_lettered == 0
    assert stats.audited == len(events)
    assert Counter(s.topic for s in harness.sink.sent) == {
        OUT_CONTACTS: sum(1 for e in events if e.topic == CONTACTS_TOPIC),
        OUT_ACCOUNTS: sum(1 for e in events if e.topic == ACCOUNTS_TOPIC),
        AUDIT_TOPIC: len(events),
    }
    scanner = LeakScanner(generator.identifiers.values)
    for sent in harness.sink.sent:
        scanner.scan(sent.key, sent.topic)
        scanner.scan(sent.value, sent.topic)
    assert scanner.total == 0, scanner.found
    # audits follow input order
    out_offsets = [harness.decode(s.value)["source_offset"] for s in harness.sink.on(AUDIT_TOPIC)]
    assert out_offsets == [r.offset for r in records]


def test_plans_and_schemas_are_reused_across_batches(harness: Harness) -> None:
    first = [harness.event(CONTACTS_TOPIC, {"id": 1}, contact_envelope("c", None, contact_row(id=1)))]
    second = [harness.event(CONTACTS_TOPIC, {"id": 1}, contact_envelope("u", contact_row(id=1), contact_row(id=1)))]

    async def both() -> None:
        await harness.pipeline.process(first)
        await harness.pipeline.process(second)

    asyncio.run(both())
    out = harness.sink.on(OUT_CONTACTS)
    assert len(out) == 2
    assert out[0].value is not None and out[1].value is not None
    assert out[0].value[:5] == out[1].value[:5]  # same output schema id
    assert harness.decode(out[0].key) == harness.decode(out[1].key)
    assert len(harness.registry.get_versions(f"{OUT_CONTACTS}-value")) == 1
    assert harness.pipeline.source_topics == [CONTACTS_TOPIC, ACCOUNTS_TOPIC]


class OutageRegistry:
    """Delegates to the mock registry; registering output subjects fails with ``error`` for ``failures`` calls."""

    def __init__(self, inner: SchemaRegistryClient, failures: int, error: Exception) -> None:
        self.inner = inner
        self.failures = failures
        self.error = error

    def get_schema(self, schema_id: int) -> Schema:
        return self.inner.get_schema(schema_id)

    def get_versions(self, subject: str) -> list[int]:
        return self.inner.get_versions(subject)

    def set_compatibility(self, subject_name: str, level: str) -> object:
        return self.inner.set_compatibility(subject_name, level)

    def register_schema(self, subject: str, schema: Schema) -> int:
        if self.failures > 0 and subject.startswith("anon."):
            self.failures -= 1
            raise self.error
        return self.inner.register_schema(subject, schema)


@pytest.mark.parametrize(
    "error",
    [
        SchemaRegistryError(503, 50301, "registry unavailable"),
        SchemaRegistryError(401, 40101, "unauthorized"),
        SchemaRegistryError(403, 40301, "forbidden"),
        ConnectionRefusedError(),
    ],
    ids=["503", "401", "403", "refused"],
)
def test_transient_registry_outage_stalls_and_never_dead_letters(
    harness: Harness, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's words: a transient outage stalls the batch, it never dead-letters good events, and it is
    not cached as a property of the schema (the same schema publishes once the registry answers)."""

    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("streams.kafka.registry.asyncio.sleep", no_sleep)
    outage = OutageRegistry(harness.registry, failures=0, error=error)
    pipeline = harness.make_pipeline(outage)

    async def run() -> tuple[BatchStats, BatchStats]:
        await pipeline.start()
        outage.failures = 40
        during = await pipeline.process(
            [harness.event(CONTACTS_TOPIC, {"id": i}, contact_envelope("c", None, contact_row(id=i))) for i in (1, 2)]
        )
        after = await pipeline.process(
            [harness.event(CONTACTS_TOPIC, {"id": 3}, contact_envelope("c", None, contact_row(id=3)))]
        )
        return during, after

    during, after = asyncio.run(run())
    assert outage.failures == 0  # every failure was waited out
    assert (during.published, during.dead_lettered) == (2, 0)
    assert (after.published, after.dead_lettered) == (1, 0)
    assert harness.letters() == []


def test_failed_drain_fails_the_batch(harness: Harness) -> None:
    """At-least-once: if the sink cannot confirm delivery, ``process`` must not return normally."""
    harness.sink.fail_drain = True
    with pytest.raises(RuntimeError, match="deliveries failed"):
        harness.process([harness.event(CONTACTS_TOPIC, {"id": 1}, contact_envelope("c", None, contact_row(id=1)))])
    assert len(harness.sink.sent) == 1  # the record was handed over; its audit waits for the broker's answer


def test_output_refused_by_the_broker_is_dead_lettered_not_audited_as_published(harness: Harness) -> None:
    harness.sink.refuse.add(OUT_CONTACTS)
    stats = harness.process([harness.event(CONTACTS_TOPIC, {"id": 1}, contact_envelope("c", None, contact_row(id=1)))])
    assert (stats.published, stats.dead_lettered, stats.audited) == (0, 1, 1)
    [audit] = [harness.decode(s.value) for s in harness.sink.on(AUDIT_TOPIC)]
    assert audit["outcome"] == "DEAD_LETTERED" and audit["reason_code"] == "kafka.delivery_refused"
    assert len(harness.sink.on(DLQ_TOPIC)) == 1


def test_unwritable_audit_topic_fails_the_batch(harness: Harness) -> None:
    from streams.ports import DeliveryError

    harness.sink.refuse.add(AUDIT_TOPIC)
    with pytest.raises(DeliveryError, match="audit/dead-letter records not written"):
        harness.process([harness.event(CONTACTS_TOPIC, {"id": 1}, contact_envelope("c", None, contact_row(id=1)))])


def test_audit_bytes_match_a_plain_avro_encode(harness: Harness) -> None:
    records = [
        harness.event(CONTACTS_TOPIC, {"id": 1}, contact_envelope("c", None, contact_row(id=1))),
        harness.event(ACCOUNTS_TOPIC, {"id": 2}, account_envelope("c", None, account_row(id=2))),
        harness.event(CONTACTS_TOPIC, {"id": 1}, None),
        harness.raw(CONTACTS_TOPIC, b"\x01\x02\x03\x04\x05\x06", None),
    ]
    harness.process(records)
    parsed = parse_schema(AUDIT_SCHEMA)
    for sent in harness.sink.on(AUDIT_TOPIC):
        assert sent.value is not None
        decoded = harness.decode(sent.value)
        again = io.BytesIO()
        schemaless_writer(again, parsed, decoded)
        assert sent.value[5:] == again.getvalue()
    # Dead-letter audits are written before the batch's PUBLISHED audits (those wait for the broker): by offset.
    contact_audit, account_audit, tomb_audit, bad_audit = sorted(harness.audits(), key=lambda a: a["source_offset"])
    assert any(a["path"] == "updated_at" for a in contact_audit["field_actions"])
    assert not any(a["path"] == "updated_at" for a in account_audit["field_actions"])
    assert account_audit["uncovered_fields"] == []
    assert tomb_audit["field_actions"] == [{"path": "key.id", "action": "tokenize(scope=contact,key=ut1)"}]
    assert bad_audit["field_actions"] == [] and bad_audit["uncovered_fields"] == []


def test_random_bytes_are_dead_lettered_never_published(harness: Harness) -> None:
    rng = random.Random(1234)
    good_key = harness.frame(CONTACTS_TOPIC, "key", {"id": 5})
    value_id = harness.ids[(CONTACTS_TOPIC, "value")]
    records = []
    for i in range(30):
        noise = rng.randbytes(rng.randint(0, 80))
        if i % 3 == 0:  # noise under a valid header: must fail Avro decoding, not pass as a record
            noise = b"\x00" + value_id.to_bytes(4, "big") + b"\x0e" + noise
        records.append(harness.raw(CONTACTS_TOPIC, good_key, noise))
    stats = harness.process(records)
    assert (stats.published, stats.dead_lettered, stats.audited) == (0, 30, 30)
    codes = Counter(letter["reason_code"] for _, letter in harness.letters())
    assert set(codes) <= {
        str(ReasonCode.TRUNCATED_FRAME),
        str(ReasonCode.BAD_MAGIC_BYTE),
        str(ReasonCode.UNKNOWN_SCHEMA_ID),
        str(ReasonCode.AVRO_DECODE_ERROR),
    }
    assert codes[str(ReasonCode.AVRO_DECODE_ERROR)] >= 10
    assert harness.sink.on(OUT_CONTACTS) == []


def test_output_timestamp_is_the_input_timestamp_coarsened_to_the_hour(harness: Harness) -> None:
    record = harness.event(CONTACTS_TOPIC, {"id": 1}, contact_envelope("c", None, contact_row(id=1)))
    assert record.timestamp_ms is not None and record.timestamp_ms % 3_600_000 != 0
    harness.process([record])
    [out] = harness.sink.on(OUT_CONTACTS)
    assert out.timestamp_ms == record.timestamp_ms - record.timestamp_ms % 3_600_000
    [audit] = harness.audits()
    assert {"path": "kafka.timestamp", "action": "coarsen(hour)"} in audit["field_actions"]


def dp_policy(loaded: LoadedPolicy, budget: float | None = None) -> LoadedPolicy:
    """The test policy with lifetime_value under laplace (and a budget, if given)."""
    contacts = loaded.policy.sources[0]
    rule: dict[str, Any] = {"transform": "laplace", "epsilon": 1.0, "lower": 0, "upper": 100_000}
    if budget is not None:
        rule["budget"] = budget
    fields = {**{k: v.model_dump(exclude_none=True) for k, v in contacts.fields.items()}, "lifetime_value": rule}
    data = loaded.policy.model_dump(exclude_none=True)
    data["sources"][0]["fields"] = fields
    policy = type(loaded.policy).model_validate(data)
    return LoadedPolicy(policy, loaded.content_hash, loaded.path)


def stateful_pipeline(harness: Harness, loaded: LoadedPolicy) -> Pipeline:
    return harness.make_pipeline(harness.registry, loaded, state_secret=derive_state_key(TEST_KEY))


def test_subject_state_makes_an_unchanged_dp_value_keep_its_noise_across_pipelines(harness: Harness) -> None:
    loaded = dp_policy(harness.loaded)
    first = stateful_pipeline(harness, loaded)
    record = harness.event(CONTACTS_TOPIC, {"id": 7}, contact_envelope("c", None, contact_row(id=7)))
    stats = asyncio.run(first.process([record]))
    [(key, stored)] = stats.states.items()
    assert key == first.state_key(record) and b"lifetime_value" in stored
    noisy = harness.decode(harness.sink.on(OUT_CONTACTS)[0].value)["after"]["lifetime_value"]
    # A new pipeline (a restarted worker, another worker after a rebalance) given the stored state:
    second = stateful_pipeline(harness, loaded)
    update = harness.event(
        CONTACTS_TOPIC, {"id": 7}, contact_envelope("u", contact_row(id=7), contact_row(id=7, city="Oxford"))
    )
    again = asyncio.run(second.process([update], {key: stored}))
    out = harness.decode(harness.sink.on(OUT_CONTACTS)[1].value)
    assert out["before"]["lifetime_value"] == out["after"]["lifetime_value"] == noisy
    assert again.states == {}  # nothing new to store
    # Without the stored state the same value would be noised afresh.
    fresh = stateful_pipeline(harness, loaded)
    asyncio.run(
        fresh.process([harness.event(CONTACTS_TOPIC, {"id": 7}, contact_envelope("c", None, contact_row(id=7)))])
    )
    assert harness.decode(harness.sink.on(OUT_CONTACTS)[2].value)["after"]["lifetime_value"] != noisy


def test_a_spent_budget_suppresses_the_field_and_the_audit_says_so(harness: Harness) -> None:
    loaded = dp_policy(harness.loaded, budget=1.0)
    pipeline = stateful_pipeline(harness, loaded)
    records = [
        harness.event(CONTACTS_TOPIC, {"id": 9}, contact_envelope("c", None, contact_row(id=9, lifetime_value=10.0))),
        harness.event(CONTACTS_TOPIC, {"id": 9}, contact_envelope("u", None, contact_row(id=9, lifetime_value=20.0))),
    ]
    stats = asyncio.run(pipeline.process(records))
    assert stats.budget_exhausted == {"contacts": 1}
    outs = [harness.decode(s.value)["after"] for s in harness.sink.on(OUT_CONTACTS)]
    assert outs[0]["lifetime_value"] is not None and outs[1]["lifetime_value"] is None
    audits = harness.audits()
    assert {"path": "lifetime_value", "action": "suppressed(dp budget spent)"} in audits[1]["field_actions"]
    assert {"path": "lifetime_value", "action": "suppressed(dp budget spent)"} not in audits[0]["field_actions"]


def test_a_batch_reports_the_seconds_of_its_stages(harness: Harness) -> None:
    records = [harness.event(CONTACTS_TOPIC, {"id": 1001}, contact_envelope("c", None, contact_row()))]
    stats = harness.process(records)
    assert set(stats.stages) == {"anonymize", "output_drain", "audit", "audit_drain"}
    assert all(seconds >= 0.0 for seconds in stats.stages.values())
