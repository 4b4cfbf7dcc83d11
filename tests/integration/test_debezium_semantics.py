"""Debezium semantics end to end, on the real broker and registry.

An independent confluent-kafka producer writes the Debezium fixtures (``tests/fixtures/debezium``) as
Debezium's AvroConverter would (schemas derived by ``tests/support/connect_avro.py``, registered by AvroSerializer
under ``<source topic>-key`` / ``-value``); a worker subprocess anonymizes them; an independent consumer
reads the output with AvroDeserializer. Covers every operation (r, c, u, d, t, tombstone), tombstones on a
compacted output topic, and per-record order across partitions.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from confluent_kafka import Producer
from confluent_kafka.admin import ConfigResource
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.core import EventIn, EventOut, anonymize_batch
from streams.envelope.base import compile_key
from streams.envelope.debezium import compile_envelope
from streams.kafka.config import admin_client, librdkafka_config
from streams.kafka.reader import Record
from streams.keys import KeyRing
from streams.policy.loader import parse_policy
from streams.settings import Settings
from tests.integration.support import Deployment, create_topics, deployed_worker, retrying, schema_text, write_policy
from tests.support.connect_avro import CUSTOMERS_FIELDS, DATASETS, TOMBSTONE, Dataset
from tests.unit.support import contact_envelope, contact_row

pytestmark = pytest.mark.integration

T = TypeVar("T")
LIVE_DATASETS = sorted(DATASETS)  # docs-postgresql (nullable and NOT NULL), docs-mysql, tutorial, engine-wasm


# -- helpers -----------------------------------------------------------------------------------------------


def topic_config(settings: Settings, topic: str) -> dict[str, str]:
    admin = admin_client(settings.connection)
    [future] = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)]).values()
    return {name: entry.value for name, entry in future.result().items()}


def customers_policy(path: Path, sources: list[tuple[str, str, str]]) -> None:
    """A policy over inventory.customers tables: (name, topic, output topic) per source."""
    policy = {
        "id": "debezium-semantics",
        "version": 1,
        "sources": [
            {"name": name, "topic": topic, "envelope": "debezium", "output_topic": output, "fields": CUSTOMERS_FIELDS}
            for name, topic, output in sources
        ],
    }
    path.write_text(yaml.safe_dump(policy, sort_keys=False))


def for_topics(dep: Deployment, suffix: str) -> Deployment:
    """The same worker seen through another of its policy sources (its own source and output topics)."""
    if not suffix:
        return dep
    return dataclasses.replace(
        dep, source_topic=f"{dep.source_topic}.{suffix}", output_topic=f"{dep.output_topic}.{suffix}"
    )


def produce_dataset(dep: Deployment, dataset: Dataset) -> list[tuple[int, int]]:
    """Produce the fixture events in order, serialized by AvroSerializer (auto-registering the schemas)."""
    key_ser = AvroSerializer(dep.registry, json.dumps(dataset.key_schema))
    value_ser = AvroSerializer(dep.registry, json.dumps(dataset.value_schema))
    payloads: list[tuple[bytes | None, bytes | None]] = []
    for event in dataset.events:
        key = (
            key_ser(event.key, SerializationContext(dep.source_topic, MessageField.KEY))
            if event.key is not None
            else None
        )
        value = (
            value_ser(event.value, SerializationContext(dep.source_topic, MessageField.VALUE))
            if event.value is not None
            else None
        )
        payloads.append((key, value))
    return dep.produce_raw(payloads)


def audits_by_position(dep: Deployment, positions: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    audits = retrying(lambda: dep.audits_for(positions), timeout_s=90)
    found = {(a["source_partition"], a["source_offset"]): a for a in audits}
    assert len(audits) == len(found) == len(positions), "exactly one audit event per input event"
    return found


def read_outputs(
    dep: Deployment, expected: int, timeout_s: float = 30.0, *, exact: bool = True
) -> list[tuple[Record, Any, Any]]:
    """(record, key, value) of the output topic, decoded with AvroDeserializer, once ``expected`` are there."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = retrying(lambda: dep.read(dep.output_topic))
        if len(records) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(records) == expected if exact else len(records) >= expected, f"{len(records)} output records"
    return [(r, dep.deserialize_key(r), dep.deserialize(r)) for r in records]


def avro_roundtrip(schema: Any, value: Any) -> Any:
    parsed = parse_schema(schema)
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, value)
    buffer.seek(0)
    return schemaless_reader(buffer, parsed, None)


def oracle(settings: Settings, dep: Deployment, dataset: Dataset) -> list[EventOut]:
    """What the pure core makes of the same events with the worker's key: the worker must publish exactly this
    (the unit tests check the core's per-operation semantics on the same fixtures)."""
    policy_text = yaml.safe_dump(
        {
            "id": "oracle",
            "version": 1,
            "sources": [
                {"name": "o", "topic": "o", "envelope": "debezium", "output_topic": "o2", "fields": CUSTOMERS_FIELDS}
            ],
        }
    ).encode()
    source = parse_policy(policy_text, Path("oracle.yaml")).policy.sources[0]
    key_id = settings.tokenization_key_id
    keyring = KeyRing({key_id: bytes.fromhex(dep.tokenization_key)}, key_id)
    key_plan = compile_key(source, dataset.key_schema, keyring)
    envelope = compile_envelope(source, dataset.value_schema, keyring)
    inputs = [
        EventIn(
            avro_roundtrip(dataset.key_schema, e.key) if e.key is not None else None,
            avro_roundtrip(dataset.value_schema, e.value) if e.value is not None else None,
        )
        for e in dataset.events
    ]
    outcomes = anonymize_batch(key_plan, envelope, inputs)
    assert all(isinstance(o, EventOut) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, EventOut)]


# -- a) every operation of every fixture data set ------------------------------------------------------------


@pytest.fixture(scope="module")
def fixtures_worker(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One worker, one policy source per fixture data set (each its own source and output topic: the data
    sets have different Avro record names, and the output subjects are BACKWARD compatible)."""

    def writer(path: Path, source_topic: str, output_topic: str) -> None:
        sources = [
            (f"ds{i}", f"{source_topic}.{name}", f"{output_topic}.{name}") for i, name in enumerate(LIVE_DATASETS)
        ]
        sources[0] = ("ds0", source_topic, output_topic)  # the deployment's own topics carry the first data set
        customers_policy(path, sources)
        create_topics(live_settings, {t: (3, {}) for _, source, output in sources for t in (source, output)})

    with deployed_worker(live_settings, tmp_path_factory.mktemp("debezium-fixtures"), writer) as deployment:
        yield deployment


@pytest.mark.parametrize("name", LIVE_DATASETS)
def test_every_debezium_operation_comes_out_as_expected(
    fixtures_worker: Deployment, live_settings: Settings, name: str
) -> None:
    dataset = DATASETS[name]()
    dep = for_topics(fixtures_worker, "" if name == LIVE_DATASETS[0] else name)
    positions = produce_dataset(dep, dataset)

    audits = audits_by_position(dep, positions)
    operations = [audits[p]["operation"] for p in positions]
    assert operations == [e.op for e in dataset.events]
    assert {audits[p]["outcome"] for p in positions} == {"PUBLISHED"}
    assert all(not audits[p]["uncovered_fields"] for p in positions)

    outputs = read_outputs(dep, len(dataset.events))
    expected = oracle(live_settings, dep, dataset)
    by_op: dict[str, tuple[Record, Any, Any]] = {}
    for record, key, value in outputs:
        op = TOMBSTONE if value is None else value["op"]
        assert op not in by_op, f"two output records for {op}"
        by_op[op] = (record, key, value)
    raw = dataset.raw_strings()
    for event, want in zip(dataset.events, expected, strict=True):
        record, key, value = by_op[event.op]
        assert key == want.key and value == want.value, event.name
        if event.op in ("r", "c"):
            assert value["before"] is None and value["after"]["id"] == key["id"]
        elif event.op == "u":
            assert value["before"]["id"] == value["after"]["id"] == key["id"]
            assert event.value is not None
            if event.value["before"]["email"] == event.value["after"]["email"]:  # not so for PK-only before
                assert value["before"]["email"] == value["after"]["email"]
        elif event.op == "d":
            assert value["after"] is None and value["before"]["id"] == key["id"]
        elif event.op == "t":
            assert record.key is None and value["before"] is None and value["after"] is None
        else:
            assert record.value is None and event.op == TOMBSTONE
            delete_record = by_op["d"][0]
            assert record.key == delete_record.key and record.partition == delete_record.partition
        if value is not None:
            assert "query" not in value["source"]
            assert value["op"] == event.op
        blob = (record.key or b"") + (record.value or b"")
        assert not [text for text in raw if text.encode() in blob], event.name
        assert dict(record.headers).get("crm-anonymizer-anonymized") == b"true"

    # The records of one row share one anonymized key, land on one output partition, in the source order.
    per_key: dict[bytes, list[tuple[int, int, str]]] = {}
    for record, _, value in outputs:
        if record.key is not None:
            op = TOMBSTONE if value is None else value["op"]
            per_key.setdefault(record.key, []).append((record.partition, record.offset, op))
    rows = {e.key["id"] for e in dataset.events if e.key is not None}
    assert len(per_key) == len(rows)
    for seen in per_key.values():
        assert len({partition for partition, _, _ in seen}) == 1
        ops = [op for _, _, op in sorted(seen, key=lambda s: s[1])]
        assert ops == [e.op for e in dataset.events if e.op in ops]


# -- b) tombstones on a compacted output topic ---------------------------------------------------------------


def test_tombstone_reaches_a_compacted_output_topic_with_the_same_anonymized_key(
    live_settings: Settings, tmp_path: Path
) -> None:
    # deployed_worker has no hook for pre-creating topics; the policy writer runs before the worker starts,
    # so the output topic is created there, compacted, and the worker's ensure_topics leaves it as it is.
    def writer(path: Path, source_topic: str, output_topic: str) -> None:
        customers_policy(path, [("customers", source_topic, output_topic)])
        create_topics(live_settings, {source_topic: (3, {}), output_topic: (3, {"cleanup.policy": "compact"})})

    # create, update, delete and the delete's tombstone of row 1004 (the truncate has no key: left out)
    full = DATASETS["docs-mysql"]()
    dataset = dataclasses.replace(full, events=tuple(e for e in full.events if e.op != "t"))
    assert [e.op for e in dataset.events] == ["c", "u", "d", TOMBSTONE]

    with deployed_worker(live_settings, tmp_path, writer) as dep:
        assert topic_config(live_settings, dep.output_topic)["cleanup.policy"] == "compact"
        positions = produce_dataset(dep, dataset)
        audits = audits_by_position(dep, positions)
        assert [audits[p]["operation"] for p in positions] == ["c", "u", "d", "TOMBSTONE"]
        assert {audits[p]["outcome"] for p in positions} == {"PUBLISHED"}

        outputs = read_outputs(dep, 4)
        assert len({r.partition for r, _, _ in outputs}) == 1
        records = sorted((r for r, _, _ in outputs), key=lambda r: r.offset)
        assert [dep.deserialize(r)["op"] if r.value is not None else TOMBSTONE for r in records] == [
            "c",
            "u",
            "d",
            TOMBSTONE,
        ]
        create, *_, tombstone = records
        assert tombstone.value is None
        assert tombstone.key is not None and tombstone.key == create.key  # byte for byte: compaction keys on it
        assert all(r.key == create.key for r in records)
        assert dep.deserialize_key(tombstone)["id"].startswith("tok_")
        # Still compacted after the worker ran. The log cleaner is not awaited (it runs on its own schedule
        # and only on closed segments); what matters here is that the tombstone carries the right key.
        assert topic_config(live_settings, dep.output_topic)["cleanup.policy"] == "compact"


def test_truncate_bound_for_a_compacted_output_is_published_or_dead_lettered(
    live_settings: Settings, tmp_path: Path
) -> None:
    """A Debezium truncate has a null key, and a compacted topic refuses records without a key (the broker
    answers INVALID_RECORD). Whatever the worker does with it, the README's promise must hold: exactly one
    audit event, and either the anonymized record on the output topic or a dead letter; later events flow."""

    def writer(path: Path, source_topic: str, output_topic: str) -> None:
        customers_policy(path, [("customers", source_topic, output_topic)])
        create_topics(live_settings, {source_topic: (3, {}), output_topic: (3, {"cleanup.policy": "compact"})})

    full = DATASETS["docs-mysql"]()
    truncate = dataclasses.replace(full, events=tuple(e for e in full.events if e.op == "t"))
    create = dataclasses.replace(full, events=tuple(e for e in full.events if e.op == "c"))
    with deployed_worker(live_settings, tmp_path, writer) as dep:
        [position] = produce_dataset(dep, truncate)
        audit = audits_by_position(dep, [position])[position]
        assert audit["operation"] == "t"
        later = produce_dataset(dep, create)  # the worker must still be anonymizing afterwards
        assert {a["outcome"] for a in audits_by_position(dep, later).values()} == {"PUBLISHED"}
        read_outputs(dep, 1, exact=False)  # the later create is out

        letters = [
            d
            for d in (dep.deserialize(r) for r in retrying(lambda: dep.read(dep.dead_letter_topic)))
            if (d["source_partition"], d["source_offset"]) == position
        ]
        truncates = [r for r in retrying(lambda: dep.read(dep.output_topic)) if r.value and r.key is None]
        if audit["outcome"] == "PUBLISHED":
            assert len(truncates) == 1, (
                "the truncate is audited PUBLISHED but is not on the output topic, and was not dead-lettered"
                f" (dead letters: {len(letters)}; worker log: {dep.log_path})"
            )
        else:
            assert audit["outcome"] == "DEAD_LETTERED" and len(letters) == 1 and not truncates


# -- c) order of a record updated many times, across partitions ---------------------------------------------

UPDATES = 200
ROWS = (7001, 7002, 7003, 7004, 7005)


def test_updates_of_one_record_stay_in_order_on_one_partition(live_settings: Settings, tmp_path: Path) -> None:
    # inventory.customers has no column a policy would keep, so this uses the repo's contacts schema, whose
    # job_title is kept: it carries a per-record counter.
    def writer(path: Path, source_topic: str, output_topic: str) -> None:
        write_policy(path, source_topic, output_topic)  # the repo's contacts policy on this deployment's topics
        policy = yaml.safe_load(path.read_text())
        policy["sources"][0]["fields"]["job_title"] = "keep"
        path.write_text(yaml.safe_dump(policy, sort_keys=False))
        create_topics(live_settings, {source_topic: (3, {}), output_topic: (3, {})})

    with deployed_worker(live_settings, tmp_path, writer) as dep:
        key_ser = AvroSerializer(dep.registry, schema_text("crm.public.contacts-key.avsc"))
        value_ser = AvroSerializer(dep.registry, schema_text("crm.public.contacts-value.avsc"))
        key_ctx = SerializationContext(dep.source_topic, MessageField.KEY)
        value_ctx = SerializationContext(dep.source_topic, MessageField.VALUE)
        producer = Producer(librdkafka_config(live_settings.connection, **{"acks": "all", "enable.idempotence": True}))
        positions: list[tuple[int, int]] = []

        def delivered(err: Any, msg: Any) -> None:
            assert err is None, f"delivery failed: {err}"
            positions.append((msg.partition(), msg.offset()))

        counters = dict.fromkeys(ROWS, 0)
        for i in range(UPDATES):
            row = ROWS[i % len(ROWS)]
            counters[row] += 1
            before = contact_row(id=row, job_title=str(counters[row] - 1))
            after = contact_row(id=row, job_title=str(counters[row]))
            producer.produce(
                dep.source_topic,
                key=key_ser({"id": row}, key_ctx),
                value=value_ser(contact_envelope("u", before, after), value_ctx),
                partition=ROWS.index(row) % 3,  # one source partition per row, as a keyed producer does
                on_delivery=delivered,
            )
        assert producer.flush(30) == 0 and len(positions) == UPDATES
        assert len({p for p, _ in positions}) == 3

        audits = audits_by_position(dep, positions)
        assert {a["outcome"] for a in audits.values()} == {"PUBLISHED"}

        outputs = read_outputs(dep, UPDATES)
        by_key: dict[bytes, list[tuple[int, int, int, int]]] = {}
        for record, _, value in outputs:
            assert record.key is not None
            counter = (int(value["before"]["job_title"]), int(value["after"]["job_title"]))
            by_key.setdefault(record.key, []).append((record.partition, record.offset, *counter))
        assert len(by_key) == len(ROWS)
        for key, seen in by_key.items():
            assert len({partition for partition, *_ in seen}) == 1, f"key {key!r} on several partitions"
            seen.sort(key=lambda s: s[1])  # offset order within the partition = the order a consumer sees
            afters = [after for *_, after in seen]
            assert afters == list(range(1, UPDATES // len(ROWS) + 1)), afters
            assert all(before == after - 1 for *_, before, after in seen)
