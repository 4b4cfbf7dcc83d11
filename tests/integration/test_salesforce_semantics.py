"""Salesforce CDC semantics end to end, on the real broker and registry.

An independent confluent-kafka producer writes Contact change events built by ``SalesforceCdcGenerator``
(AvroSerializer, schemas from ``schemas/salesforce``, key ``{recordId}``) to a 3-partition source topic; a
worker subprocess runs the ``sfdc-contacts`` source of ``tests/policies/crm-v2.yaml``, retargeted to the deployment's
topics; an independent consumer reads the output and audit topics with AvroDeserializer.

The expected output of each event is computed here, independently of ``streams/envelope``: the policy's
rules are interpreted field by field (``tokenize`` through the keyed ``Tokenize`` primitive with the worker's
key) and the bitmaps are decoded from the writer schema's field positions. Covers every change type (CREATE,
sparse UPDATE, DELETE, UNDELETE, the four GAP_* and GAP_OVERFLOW), per-record order across partitions,
provenance headers, and raw identifiers (canaries) in the output, audit and worker log.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams import __version__
from streams.devtools.generator.debezium import CdcEvent
from streams.devtools.generator.salesforce import (
    ACCOUNT_TOPIC,
    CONTACT_TOPIC,
    GAP_TYPES,
    OVERFLOW_ID,
    SCHEMA_DIR,
    SalesforceCdcGenerator,
)
from streams.kafka.reader import Record
from streams.settings import REPO_ROOT, Settings
from streams.transforms.tokenize import Tokenize
from tests.integration.support import Deployment, create_topics, deployed_worker, retrying

pytestmark = pytest.mark.integration
T = TypeVar("T")

POLICY_FILE = REPO_ROOT / "tests" / "policies" / "crm-v2.yaml"  # v2: the richest sfdc-contacts mix
SOURCE_NAME = "sfdc-contacts"
HEADER = "ChangeEventHeader"
PARTITIONS = 3
PROVENANCE = (
    "crm-anonymizer-anonymized",
    "crm-anonymizer-policy-id",
    "crm-anonymizer-policy-version",
    "crm-anonymizer-policy-hash",
    "crm-anonymizer-processor-version",
    # The input's position, so a consumer can drop redeliveries (at-least-once).
    "crm-anonymizer-source-topic",
    "crm-anonymizer-source-partition",
    "crm-anonymizer-source-offset",
)
# Headers a Pub/Sub-to-Kafka bridge might add, carrying raw values: the worker must not forward them.
BRIDGE_HEADERS = ("sfdc-record-id", "sfdc-commit-user")


# -- the policy and the schema, read independently of streams/ ------------------------------------------------


def crm_policy() -> dict[str, Any]:
    policy: dict[str, Any] = yaml.safe_load(POLICY_FILE.read_text())
    return policy


def contact_source() -> dict[str, Any]:
    source: dict[str, Any] = next(s for s in crm_policy()["sources"] if s["name"] == SOURCE_NAME)
    assert source["envelope"] == "salesforce" and source["topic"] == CONTACT_TOPIC
    return source


def contact_rules() -> dict[str, Any]:
    """The source's field rules with the ``Contact.`` prefix taken off."""
    return {path.removeprefix("Contact."): rule for path, rule in contact_source()["fields"].items()}


def value_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{CONTACT_TOPIC}-value.avsc").read_text())
    return schema


def schema_layout() -> tuple[list[str], dict[str, list[str]]]:
    """Top-level field names by position (0 = the header), and the sub-field names of each compound field."""
    named: dict[str, list[str]] = {}
    names: list[str] = []
    children: dict[str, list[str]] = {}
    for fld in value_schema()["fields"]:
        names.append(fld["name"])
        branch = fld["type"][1] if isinstance(fld["type"], list) else fld["type"]
        if isinstance(branch, dict) and branch.get("type") == "record":
            named[branch["name"]] = [f["name"] for f in branch["fields"]]
            children[fld["name"]] = named[branch["name"]]
        elif isinstance(branch, str) and branch in named:
            children[fld["name"]] = named[branch]
    return names, children


FIELDS, CHILDREN = schema_layout()
RULES = contact_rules()
COMPOUND_PARENTS = {path.split(".", 1)[0] for path in RULES if "." in path}


def output_field_names() -> set[str]:
    """Names a decoded bitmap may keep: top-level fields and compound sub-fields the policy does not drop."""
    kept = {path for path, rule in RULES.items() if rule != "drop" and path != "Id"}
    return kept | {path.split(".", 1)[0] for path in kept if "." in path}


OUTPUT_NAMES = output_field_names()


def decode_bitmaps(entries: list[str]) -> list[str]:
    """``0x<hex>``: bit i names top-level field i; ``<pos>-0x<hex>``: bit i names sub-field i of field pos."""
    names: list[str] = []
    for entry in entries:
        if top := re.fullmatch(r"0[xX]([0-9a-fA-F]+)", entry):
            bits = int(top.group(1), 16)
            names += [name for i, name in enumerate(FIELDS) if bits >> i & 1]
        elif nested := re.fullmatch(r"(\d+)-0[xX]([0-9a-fA-F]+)", entry):
            parent = FIELDS[int(nested.group(1))]
            bits = int(nested.group(2), 16)
            names += [f"{parent}.{child}" for i, child in enumerate(CHILDREN[parent]) if bits >> i & 1]
        else:
            raise AssertionError(f"not a bitmap entry: {entry!r}")
    return list(dict.fromkeys(names))


# -- expected output ------------------------------------------------------------------------------------------


class Expect:
    """What the policy says each event becomes, with the deployment's tokenization key."""

    def __init__(self, settings: Settings, dep: Deployment) -> None:
        self.key = bytes.fromhex(dep.tokenization_key)
        self.key_id = settings.tokenization_key_id
        self._tokenizers: dict[tuple[str, str], Tokenize] = {}

    def token(self, value: str, scope: str, normalize: str = "none") -> str:
        tokenizer = self._tokenizers.get((scope, normalize))
        if tokenizer is None:
            tokenizer = self._tokenizers[(scope, normalize)] = Tokenize(self.key, self.key_id, scope, normalize)
        return tokenizer.token(value)

    def record_id(self, record_id: str) -> str:
        # The policy's Contact.Id rule drives recordIds and the key; the overflow placeholder names no record.
        rule = RULES["Id"]
        assert rule == {"transform": "tokenize", "scope": "sfdc-id"}
        return record_id if record_id == OVERFLOW_ID else self.token(record_id, rule["scope"])

    def apply(self, rule: Any, value: Any) -> Any:
        if value is None or rule == "keep":
            return value
        kind = rule["transform"]
        if kind == "tokenize":
            return self.token(value, rule["scope"], rule.get("normalize", "none"))
        if kind == "mask" and rule.get("style") == "phone":
            # The number (digits and "+-(). ") keeps its punctuation and its last digits; whatever follows it
            # (an extension "x123", a comment) is masked whole: the phone mask releases no text.
            keep = rule.get("keep_last", 2)
            end = 0
            while end < len(value) and (value[end].isdigit() or value[end] in "+-(). "):
                end += 1
            number, rest = value[:end], value[end:]
            digits = sum(ch.isdigit() for ch in number)
            assert digits > keep + 3, "a phone the generator makes has enough digits to be masked digit by digit"
            seen, out = 0, []
            for ch in number:
                if ch.isdigit():
                    out.append(ch if seen >= digits - keep else "*")
                    seen += 1
                else:
                    out.append(ch)
            return "".join(out) + ("****" if rest else "")
        if kind == "mask":  # a name: the first character(s) and a fixed run of four, or all four when too short
            first = rule.get("keep_first", 1)
            return value[:first] + "****" if len(value) - first >= max(2, len(value) // 2) else "****"
        if kind == "generalize" and "prefix_length" in rule:
            return value[: rule["prefix_length"]]
        if kind == "generalize" and rule.get("to") in ("year", "month"):
            day = dt.datetime.fromtimestamp(value / 1000, dt.UTC).date()  # Salesforce dates: epoch millis
            return day.year if rule["to"] == "year" else f"{day.year:04d}-{day.month:02d}"
        raise AssertionError(f"the test does not model rule {rule!r}")

    def body(self, value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in FIELDS[1:]:
            if name in COMPOUND_PARENTS:
                subs = {c: RULES[f"{name}.{c}"] for c in CHILDREN[name] if RULES[f"{name}.{c}"] != "drop"}
                compound = value[name]
                out[name] = None if compound is None else {c: self.apply(r, compound[c]) for c, r in subs.items()}
            elif RULES[name] != "drop":
                out[name] = self.apply(RULES[name], value[name])
        return out

    def header(self, header: dict[str, Any]) -> dict[str, Any]:
        origin = re.match(r"com/salesforce/api/(soap|rest)/", header["changeOrigin"])
        assert origin is not None or header["changeOrigin"] == ""
        return {
            "entityName": "Contact",
            "recordIds": [self.record_id(i) for i in header["recordIds"]],
            "changeType": header["changeType"],
            "changeOrigin": f"com/salesforce/api/{origin.group(1)}" if origin else "",
            "transactionKey": header["transactionKey"],  # kept by this module's policy (the join key)
            "sequenceNumber": header["sequenceNumber"],
            # The default metadata policy: the commit time to the hour, commitNumber (a clock) dropped.
            "commitTimestamp": header["commitTimestamp"] - header["commitTimestamp"] % 3_600_000,
            "commitUser": self.token(header["commitUser"], "sfdc-user"),
            **{
                name: [n for n in decode_bitmaps(header[name]) if n in OUTPUT_NAMES]
                for name in ("nulledFields", "diffFields", "changedFields")
            },
            "gap": header["changeType"].startswith("GAP_"),
        }

    def value(self, event: CdcEvent) -> dict[str, Any]:
        assert event.value is not None
        header = self.header(event.value[HEADER])
        empty = self.body(dict.fromkeys(FIELDS[1:]))
        return {HEADER: header, **(empty if header["gap"] else self.body(event.value))}

    def kafka_key(self, event: CdcEvent) -> dict[str, Any]:
        assert event.key is not None
        return {"recordId": self.record_id(event.key["recordId"])}


# -- canaries -------------------------------------------------------------------------------------------------


def raw_identifiers(events: list[CdcEvent]) -> dict[str, str]:
    """Raw identifying strings of the events -> their kind (emails, phones, names, record and user IDs, ...).

    A name that also occurs inside a value the policy keeps verbatim (Faker builds cities like "Port Michael"
    from first names) or inside the schema or policy text (the last name "Chan" is in "ChangeEventHeader",
    a field path the audit names) is left out: finding it there is not a leak. So are strings under 4
    characters, and short all-hex strings (postal codes): tokens are hex, and would contain those by chance.
    """
    found: dict[str, str] = {}
    verbatim: set[str] = {json.dumps(value_schema()), POLICY_FILE.read_text()}
    for event in events:
        assert event.value is not None
        header = event.value[HEADER]
        for record_id in header["recordIds"]:
            if record_id != OVERFLOW_ID:
                found[record_id] = "record id"
        found[header["commitUser"]] = "user id"
        if client := re.search(r";client=([^/]+)", header["changeOrigin"]):
            found[client.group(1)] = "API client"
        verbatim.update((header["transactionKey"], header["entityName"]))
        for name in FIELDS[1:]:
            value = event.value[name]
            if name in COMPOUND_PARENTS:
                for child, sub in (value or {}).items():
                    rule = RULES[f"{name}.{child}"]
                    if isinstance(sub, str):
                        if rule == "keep":
                            verbatim.add(sub)
                        else:
                            found[sub] = f"{name}.{child}"
                if name == "Name" and value and value["FirstName"] and value["LastName"]:
                    found[f"{value['FirstName']} {value['LastName']}"] = "full name"
            elif isinstance(value, str):
                if RULES[name] == "keep":
                    verbatim.add(value)
                else:
                    found[value] = name
    return {
        raw: kind
        for raw, kind in found.items()
        if len(raw) >= 4
        and not (len(raw) < 12 and re.fullmatch(r"[0-9a-fA-F-]+", raw))
        and not any(raw in v for v in verbatim)
    }


def leaks(canaries: dict[str, str], blob: bytes) -> list[str]:
    """The kinds of the canaries found in ``blob`` (never the values themselves)."""
    return sorted(kind for raw, kind in canaries.items() if raw.encode() in blob)


# -- Kafka helpers --------------------------------------------------------------------------------------------


def salesforce_schema_text(part: str) -> str:
    return json.dumps(json.loads((SCHEMA_DIR / f"{CONTACT_TOPIC}-{part}.avsc").read_text()))


def produce_salesforce(
    dep: Deployment, events: list[CdcEvent], headers: Callable[[CdcEvent], list[tuple[str, bytes]]] | None = None
) -> list[tuple[int, int]]:
    """Produce Contact change events as the bridge would: AvroSerializer with the schemas/salesforce schemas
    (registered under ``<source topic>-key``/``-value``), keyed by ``{recordId}`` and partitioned by that key.
    Returns (partition, offset) per event, in order."""
    key_ser = AvroSerializer(dep.registry, salesforce_schema_text("key"))
    value_ser = AvroSerializer(dep.registry, salesforce_schema_text("value"))
    key_ctx = SerializationContext(dep.source_topic, MessageField.KEY)
    value_ctx = SerializationContext(dep.source_topic, MessageField.VALUE)
    producer = dep.producer()
    positions: list[tuple[int, int] | None] = [None] * len(events)

    def remember(index: int) -> Callable[[Any, Any], None]:
        def on_delivery(err: Any, msg: Any) -> None:
            assert err is None, f"delivery failed: {err}"
            positions[index] = (msg.partition(), msg.offset())

        return on_delivery

    for i, event in enumerate(events):
        producer.produce(
            dep.source_topic,
            key=key_ser(event.key, key_ctx),
            value=value_ser(event.value, value_ctx),
            headers=headers(event) if headers else None,
            on_delivery=remember(i),
        )
    assert producer.flush(30) == 0
    assert all(p is not None for p in positions)
    return [p for p in positions if p is not None]


@dataclass
class Outcome:
    """What the worker made of a list of events: per event, its audit and its one output record."""

    events: list[CdcEvent]
    positions: list[tuple[int, int]]
    audits: list[dict[str, Any]]
    outputs: list[tuple[Record, Any, Any]]  # (record, key, value), in the order of ``events``


def run_through_worker(
    dep: Deployment, events: list[CdcEvent], headers: Callable[[CdcEvent], list[tuple[str, bytes]]] | None = None
) -> Outcome:
    positions = produce_salesforce(dep, events, headers)
    audits = retrying(lambda: dep.audits_for(positions, timeout_s=60), timeout_s=90)
    by_position = {(a["source_partition"], a["source_offset"]): a for a in audits}
    assert len(audits) == len(by_position) == len(events), "exactly one audit event per input event"
    # The audit is written once the output is on the broker: the outputs are all there by now.
    records = retrying(lambda: dep.read(dep.output_topic))
    by_transaction: dict[str, tuple[Record, Any, Any]] = {}
    for record in records:
        value = dep.deserialize(record)
        transaction = value[HEADER]["transactionKey"]
        assert transaction not in by_transaction, "two output records for one input event"
        by_transaction[transaction] = (record, dep.deserialize_key(record), value)
    outputs = []
    for event in events:
        assert event.value is not None
        transaction = event.value[HEADER]["transactionKey"]
        assert transaction in by_transaction, f"no output for the {event.value[HEADER]['changeType']} event"
        outputs.append(by_transaction[transaction])
    return Outcome(events, positions, [by_position[p] for p in positions], outputs)


# -- the deployment -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sfdc_worker(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One worker whose single source is crm.yaml's sfdc-contacts, on this deployment's (3-partition) topics."""

    def writer(path: Path, source_topic: str, output_topic: str) -> None:
        policy = crm_policy()
        source = contact_source() | {"topic": source_topic, "output_topic": output_topic}
        # This module joins each output to its input by the header's transaction key (a position the default
        # metadata policy drops; test_envelope_metadata checks that default): kept here for the join.
        metadata = source.get("metadata", {})
        source["metadata"] = metadata | {
            "fields": {"envelope.header.transactionKey": "keep", "envelope.header.sequenceNumber": "keep"}
        }
        policy["sources"] = [source]
        path.write_text(yaml.safe_dump(policy, sort_keys=False))
        create_topics(live_settings, {source_topic: (PARTITIONS, {}), output_topic: (PARTITIONS, {})})

    with deployed_worker(live_settings, tmp_path_factory.mktemp("sfdc"), writer) as deployment:
        yield deployment


def bridge_headers(event: CdcEvent) -> list[tuple[str, bytes]]:
    assert event.value is not None
    header = event.value[HEADER]
    return [
        (BRIDGE_HEADERS[0], header["recordIds"][0].encode()),
        (BRIDGE_HEADERS[1], header["commitUser"].encode()),
    ]


def change_type(event: CdcEvent) -> str:
    assert event.value is not None
    kind: str = event.value[HEADER]["changeType"]
    return kind


def update_shapes(event: CdcEvent) -> set[str]:
    """The kinds of sparse update an UPDATE event is (to check the stream has each at least once)."""
    assert event.value is not None
    header = event.value[HEADER]
    shapes = set()
    if len(header["recordIds"]) > 1:
        shapes.add("several records")
    if event.value["MailingAddress"] is not None:
        shapes.add("MailingAddress sub-fields")
    if event.value["Name"] is not None:
        shapes.add("Name sub-fields")
    if any(e.startswith("0x") for e in header["nulledFields"]):
        shapes.add("nulled field")
    if header["nulledFields"] and not any(e.startswith("0x") for e in header["nulledFields"]):
        shapes.add("only a sub-field nulled")
    if event.value["Email"] is not None:
        shapes.add("Email")
    if event.value["Description"] is not None:
        shapes.add("Description")
    return shapes


UPDATE_SHAPES = {
    "several records",
    "MailingAddress sub-fields",
    "Name sub-fields",
    "nulled field",
    "only a sub-field nulled",
    "Email",
    "Description",
}


def change_type_events() -> list[CdcEvent]:
    """Contact events of every change type, from the generator's own methods."""
    gen = SalesforceCdcGenerator(seed=29)
    gen.create(ACCOUNT_TOPIC)  # not produced: gives contacts an AccountId to tokenize
    gen.create(ACCOUNT_TOPIC)
    events = [gen.create(CONTACT_TOPIC) for _ in range(16)]  # enough for one with a MiddleName
    seen: set[str] = set()
    for _ in range(300):
        update = gen.update(CONTACT_TOPIC)
        events.append(update)
        seen |= update_shapes(update)
        if seen >= UPDATE_SHAPES:
            break
    assert seen >= UPDATE_SHAPES, f"the generator made no update of shape {sorted(UPDATE_SHAPES - seen)}"
    # diffFields: Salesforce lists long text fields sent as diffs. Description is dropped: it is not named.
    for event in events:
        if change_type(event) == "UPDATE" and event.value and event.value["Description"] is not None:
            event.value[HEADER]["diffFields"] = gen.layouts[CONTACT_TOPIC].bitmap(["Description"])
    events += [gen.delete(CONTACT_TOPIC), gen.delete(CONTACT_TOPIC), gen.undelete(CONTACT_TOPIC)]
    gaps: set[str] = set()
    for _ in range(60):
        gap = gen.gap(CONTACT_TOPIC)
        events.append(gap)
        gaps.add(change_type(gap))
        if gaps == set(GAP_TYPES):
            break
    assert gaps == set(GAP_TYPES), f"the generator made no {sorted(set(GAP_TYPES) - gaps)}"
    # A gap event whose body is not null (a broken bridge): nothing of the body may come out.
    gap = gen.gap(CONTACT_TOPIC)
    assert gap.value is not None
    first_create = events[0].value
    assert first_create is not None
    gap.value.update({name: first_create[name] for name in FIELDS[1:]})
    events += [gap, gen.overflow(CONTACT_TOPIC)]
    return events


@pytest.fixture(scope="module")
def change_types(sfdc_worker: Deployment) -> Outcome:
    return run_through_worker(sfdc_worker, change_type_events(), bridge_headers)


RECORDS = 9
UPDATES = 240


@pytest.fixture(scope="module")
def many_updates(sfdc_worker: Deployment) -> Outcome:
    gen = SalesforceCdcGenerator(seed=4242)
    events = [gen.create(CONTACT_TOPIC) for _ in range(RECORDS)]
    events += [gen.update(CONTACT_TOPIC) for _ in range(UPDATES)]
    return run_through_worker(sfdc_worker, events)


# -- 1) every change type ---------------------------------------------------------------------------------


def test_every_change_type_comes_out_as_the_policy_says(
    change_types: Outcome, sfdc_worker: Deployment, live_settings: Settings
) -> None:
    expect = Expect(live_settings, sfdc_worker)
    kinds = [change_type(e) for e in change_types.events]
    assert {"CREATE", "UPDATE", "DELETE", "UNDELETE", "GAP_OVERFLOW", *GAP_TYPES} <= set(kinds)

    for event, audit, (_, key, value) in zip(
        change_types.events, change_types.audits, change_types.outputs, strict=True
    ):
        assert event.value is not None and event.key is not None
        kind = change_type(event)
        raw_header = event.value[HEADER]
        where = f"{kind} {raw_header['transactionKey']}"

        assert audit["operation"] == kind, where
        assert audit["outcome"] == "PUBLISHED", where
        assert audit["output_topic"] == sfdc_worker.output_topic
        assert not audit["uncovered_fields"], where

        assert value == expect.value(event), where
        assert key == expect.kafka_key(event), where
        header = value[HEADER]
        # the key and the header's first record ID are the same token (or both the overflow placeholder)
        assert key["recordId"] == header["recordIds"][0], where
        if kind == "GAP_OVERFLOW":
            assert header["recordIds"] == [OVERFLOW_ID] and key == {"recordId": OVERFLOW_ID}, where
        else:
            assert all(t.startswith(f"tok_{live_settings.tokenization_key_id}_") for t in header["recordIds"]), where
            assert len(set(header["recordIds"])) == len(raw_header["recordIds"]), where
        assert header["commitUser"].startswith("tok_"), where
        assert "client=" not in header["changeOrigin"] and ";" not in header["changeOrigin"], where
        assert header["gap"] is kind.startswith("GAP_"), where

        body = {name: v for name, v in value.items() if name != HEADER}
        if kind.startswith("GAP_") or kind == "DELETE":
            assert all(v is None for v in body.values()), f"{where}: a header-only event has a body"
            assert header["changedFields"] == header["nulledFields"] == [], where
        if kind == "UPDATE":
            # sparse: the fields (and compound sub-fields) that carry a value are exactly those the input
            # carried, among those the policy outputs; nothing is invented for untouched fields
            def carried(image: dict[str, Any]) -> set[str]:
                names = set()
                for name, v in image.items():
                    if isinstance(v, dict):
                        names |= {f"{name}.{c}" for c, s in v.items() if s is not None}
                    elif v is not None and name != HEADER:
                        names.add(name)
                return names

            assert carried(body) == carried(event.value) & OUTPUT_NAMES, where
            assert set(header["changedFields"]) <= OUTPUT_NAMES and "LastModifiedDate" in header["changedFields"]
        if kind in ("CREATE", "UNDELETE"):
            assert body["Email"] is not None and body["Name"]["LastName"].startswith("tok_"), where
            assert "Street" not in body["MailingAddress"] and "Latitude" not in body["MailingAddress"], where
        for dropped in ("OtherAddress", "Description", "Fax", "HomePhone", "Jigsaw"):
            assert dropped not in value, where
        assert "MiddleName" not in (body["Name"] or {}), where


def test_sparse_updates_name_only_output_fields(change_types: Outcome, sfdc_worker: Deployment) -> None:
    """The bitmaps decode to field names; dropped fields (Name.MiddleName, MailingAddress.Street,
    Description) are not named even when they changed."""
    updates = [(e, out) for e, (_, _, out) in zip(change_types.events, change_types.outputs, strict=True)]
    updates = [(e, out) for e, out in updates if change_type(e) == "UPDATE"]
    dropped_named = 0
    for event, out in updates:
        assert event.value is not None
        raw = event.value[HEADER]
        header = out[HEADER]
        for name in ("changedFields", "nulledFields", "diffFields"):
            decoded = decode_bitmaps(raw[name])
            assert header[name] == [n for n in decoded if n in OUTPUT_NAMES]
            dropped_named += len(decoded) - len(header[name])
            assert not any(n.startswith("0x") or "-0x" in n for n in header[name])
        if event.value["MailingAddress"] is not None:
            changed_subs = {c for c, v in event.value["MailingAddress"].items() if v is not None}
            assert {f"MailingAddress.{c}" for c in changed_subs if c != "Street"} <= set(header["changedFields"])
            assert "MailingAddress.Street" not in header["changedFields"]
            assert out["MailingAddress"]["City"] == event.value["MailingAddress"]["City"]  # kept
            assert out["MailingAddress"]["State"] is None  # unchanged: stays null
        if event.value["Name"] is not None:
            assert "Name.MiddleName" not in header["changedFields"] + header["nulledFields"]
        if event.value["Description"] is not None:
            assert "Description" not in header["changedFields"] + header["diffFields"]
            assert raw["diffFields"] and header["diffFields"] == []
    assert dropped_named > 0, "no update named a dropped field: the filtering was not exercised"


def test_gap_and_overflow_events_are_header_only(change_types: Outcome) -> None:
    gaps = [
        (e, out)
        for e, (_, _, out) in zip(change_types.events, change_types.outputs, strict=True)
        if change_type(e).startswith("GAP_")
    ]
    assert {change_type(e) for e, _ in gaps} == {*GAP_TYPES, "GAP_OVERFLOW"}
    for _, out in gaps:
        assert out[HEADER]["gap"] is True
        assert all(v is None for name, v in out.items() if name != HEADER)
        assert out[HEADER]["changeOrigin"] == ""
    # the one carrying a full body (a broken bridge) still comes out header-only
    assert any(e.value and e.value["Email"] is not None for e, _ in gaps)


def test_one_audit_event_per_input_with_the_change_type_as_operation(change_types: Outcome) -> None:
    assert [a["operation"] for a in change_types.audits] == [change_type(e) for e in change_types.events]
    assert len({(a["source_partition"], a["source_offset"]) for a in change_types.audits}) == len(change_types.events)
    actions = {fa["path"]: fa["action"] for fa in change_types.audits[0]["field_actions"]}
    assert actions["ChangeEventHeader.commitUser"].startswith("tokenize(scope=sfdc-user")
    assert actions["ChangeEventHeader.recordIds"].startswith("tokenize(scope=sfdc-id")
    assert actions["ChangeEventHeader.changeOrigin"] == "reduce(api family)"
    assert actions["ChangeEventHeader.gap"] == "added(gap flag)"


# -- 2) per-record order ------------------------------------------------------------------------------------


def test_updates_of_one_record_come_out_in_order_on_one_partition(
    many_updates: Outcome, sfdc_worker: Deployment, live_settings: Settings
) -> None:
    expect = Expect(live_settings, sfdc_worker)
    assert {a["outcome"] for a in many_updates.audits} == {"PUBLISHED"}
    # the source topic is keyed by recordId: the records spread over its partitions, each on one
    sent: dict[str, list[str]] = {}
    source_partitions: dict[str, set[int]] = {}
    for event, (partition, _) in zip(many_updates.events, many_updates.positions, strict=True):
        assert event.value is not None and event.key is not None
        sent.setdefault(event.key["recordId"], []).append(event.value[HEADER]["transactionKey"])
        source_partitions.setdefault(event.key["recordId"], set()).add(partition)
    assert len(sent) == RECORDS and all(len(p) == 1 for p in source_partitions.values())
    assert len(set().union(*source_partitions.values())) > 1, "every record hashed to one source partition"
    assert min(len(s) for s in sent.values()) >= 10, "each record is updated many times"

    received: dict[bytes, list[tuple[int, int, str, Any]]] = {}
    for record, key, value in many_updates.outputs:
        assert record.key is not None
        received.setdefault(record.key, []).append(
            (record.partition, record.offset, value[HEADER]["transactionKey"], key)
        )
    assert len(received) == RECORDS
    for record_id, transactions in sent.items():
        [seen] = [s for s in received.values() if s[0][3] == {"recordId": expect.record_id(record_id)}]
        assert len({partition for partition, *_ in seen}) == 1, "one record's events on several output partitions"
        in_offset_order = [transaction for _, _, transaction, _ in sorted(seen, key=lambda s: s[1])]
        assert in_offset_order == transactions


# -- 3) provenance headers ----------------------------------------------------------------------------------


def test_every_output_record_carries_provenance_headers_and_no_raw_value(
    change_types: Outcome, many_updates: Outcome, sfdc_worker: Deployment
) -> None:
    canaries = raw_identifiers(change_types.events + many_updates.events)
    policy = crm_policy()
    records = retrying(lambda: sfdc_worker.read(sfdc_worker.output_topic))
    assert len(records) == len(change_types.events) + len(many_updates.events)
    for record in records:
        headers = dict(record.headers)
        assert [name for name, _ in record.headers] == list(PROVENANCE), "bridge headers must not be forwarded"
        assert headers["crm-anonymizer-anonymized"] == b"true"
        assert headers["crm-anonymizer-policy-id"] == str(policy["id"]).encode()
        assert headers["crm-anonymizer-policy-version"] == str(policy["version"]).encode()
        assert headers["crm-anonymizer-processor-version"] == __version__.encode()
        assert re.fullmatch(rb"[0-9a-f]{16,128}", headers["crm-anonymizer-policy-hash"])
        assert not leaks(canaries, b"".join(name.encode() + v for name, v in record.headers))
    # the input records did carry raw values in headers
    sources = retrying(lambda: sfdc_worker.read(sfdc_worker.source_topic))
    assert any(name in BRIDGE_HEADERS for r in sources for name, _ in r.headers)


# -- 4) canaries --------------------------------------------------------------------------------------------


def test_raw_identifiers_reach_no_output_audit_or_log(
    change_types: Outcome, many_updates: Outcome, sfdc_worker: Deployment
) -> None:
    canaries = raw_identifiers(change_types.events + many_updates.events)
    kinds = set(canaries.values())
    for kind in ("record id", "user id", "Email", "Phone", "Name.FirstName", "Name.LastName", "full name"):
        assert kind in kinds, f"no {kind} canary: the check would prove nothing"

    # the raw values are really in the source topic (so the check below is not vacuous)
    source_blob = b"".join((r.value or b"") for r in retrying(lambda: sfdc_worker.read(sfdc_worker.source_topic)))
    assert {"record id", "user id", "Email", "full name"} <= set(leaks(canaries, source_blob))

    places = {
        "output topic": retrying(lambda: sfdc_worker.read(sfdc_worker.output_topic)),
        "audit topic": retrying(lambda: sfdc_worker.read(sfdc_worker.audit_topic)),
    }
    for place, records in places.items():
        assert records, place
        blob = b"".join((r.key or b"") + (r.value or b"") + b"".join(v for _, v in r.headers) for r in records)
        found = leaks(canaries, blob)
        assert not found, f"raw values found in the {place}: {found}"
    assert not retrying(lambda: sfdc_worker.read(sfdc_worker.dead_letter_topic)), "nothing was dead-lettered"

    log = sfdc_worker.log_text()
    assert b"policy_compiled" in log  # the log is real and covers these events
    found = leaks(canaries, log)
    assert not found, f"raw values found in the worker log ({sfdc_worker.log_path}): {found}"
