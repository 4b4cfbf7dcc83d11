"""Real Debezium change events (docs, tutorial, examples) through the anonymization core; no broker.

Fixtures: ``tests/fixtures/debezium/`` (provenance in SOURCES.md there). ``tests/support/connect_avro.py`` turns each
JsonConverter record into the Avro schema and value Debezium's AvroConverter would produce; the events are
written and read back with fastavro (what the pipeline decodes), compiled against a policy covering every
column of ``inventory.customers``, and run through ``streams.core.anonymize_batch`` as one batch per source.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.core import EventIn, EventOut, anonymize_batch
from streams.envelope.base import CompiledKey, compile_key
from streams.envelope.debezium import CompiledEnvelope, compile_envelope
from streams.envelope.metadata import coarsen_epoch
from streams.errors import AnonymizationError
from streams.keys import KeyRing
from streams.policy.loader import parse_policy
from streams.policy.model import SourcePolicy
from streams.transforms.tokenize import Tokenize
from tests.support.connect_avro import (
    CUSTOMERS_FIELDS,
    DATASETS,
    FIXTURES,
    TOMBSTONE,
    TRANSACTION_BLOCK,
    Dataset,
    FixtureEvent,
    avro_schema,
    avro_value,
    debezium3_layout,
    load_connect_json,
    load_lenient,
)

from ..support import TEST_KEY, TEST_KEY_ID

SHARED = Path("/work/shared/fixtures/debezium")
COLUMNS = ("id", "first_name", "last_name", "email")


def customers_source(metadata: dict[str, Any] | None = None) -> SourcePolicy:
    policy = {
        "id": "debezium-fixtures",
        "version": 1,
        "sources": [
            {
                "name": "customers",
                "topic": "fixtures.inventory.customers",
                "envelope": "debezium",
                "output_topic": "anon.fixtures.inventory.customers",
                "fields": CUSTOMERS_FIELDS,
                **({"metadata": metadata} if metadata is not None else {}),
            }
        ],
    }
    return parse_policy(yaml.safe_dump(policy).encode(), Path("debezium-fixtures.yaml")).policy.sources[0]


KEYRING = KeyRing({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID)


def tokenizer(column: str) -> Callable[[Any], str]:
    rule = CUSTOMERS_FIELDS[column]
    return Tokenize(TEST_KEY, TEST_KEY_ID, rule["scope"], rule.get("normalize", "none")).token


TOKEN = {column: tokenizer(column) for column in ("id", "last_name", "email")}


def avro_roundtrip(schema: Any, value: Any) -> Any:
    """Write with fastavro against ``schema`` and read back: what the pipeline hands to the core."""
    parsed = parse_schema(schema)
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, value)
    buffer.seek(0)
    return schemaless_reader(buffer, parsed, None)


def encode(schema: Any, value: Any) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(schema), value)
    return buffer.getvalue()


@dataclass(frozen=True)
class Run:
    dataset: Dataset
    key_plan: CompiledKey
    envelope: CompiledEnvelope
    inputs: list[EventIn]
    outputs: list[EventOut]

    def pairs(self) -> list[tuple[FixtureEvent, EventIn, EventOut]]:
        return list(zip(self.dataset.events, self.inputs, self.outputs, strict=True))

    def only(self, op: str) -> tuple[FixtureEvent, EventIn, EventOut]:
        [found] = [p for p in self.pairs() if p[0].op == op]
        return found


def run_dataset(dataset: Dataset) -> Run:
    source = customers_source()
    key_plan = compile_key(source, dataset.key_schema, KEYRING)
    envelope = compile_envelope(source, dataset.value_schema, KEYRING)
    inputs = [
        EventIn(
            avro_roundtrip(dataset.key_schema, e.key) if e.key is not None else None,
            avro_roundtrip(dataset.value_schema, e.value) if e.value is not None else None,
        )
        for e in dataset.events
    ]
    outcomes = anonymize_batch(key_plan, envelope, inputs)
    errors = [o for o in outcomes if isinstance(o, AnonymizationError)]
    assert not errors, [(e.code, e.detail, e.field) for e in errors]
    outputs = [o for o in outcomes if isinstance(o, EventOut)]
    return Run(dataset, key_plan, envelope, inputs, outputs)


@pytest.fixture(scope="module", params=sorted(DATASETS))
def run(request: pytest.FixtureRequest) -> Run:
    return run_dataset(DATASETS[request.param]())


def assert_masked(raw: str, out: str) -> None:
    assert out != raw and "*" in out
    if len(raw) > 1:
        assert out[0] == raw[0] and raw not in out


def assert_image(raw: dict[str, Any], out: dict[str, Any]) -> None:
    """One row image: each column anonymized by its rule; null stays null; nothing else in the row."""
    assert set(out) == set(COLUMNS)
    for column in ("id", "last_name", "email"):
        assert out[column] == (None if raw[column] is None else TOKEN[column](raw[column])), column
    if raw["first_name"] is None:
        assert out["first_name"] is None
    else:
        assert_masked(raw["first_name"], out["first_name"])


# -- loading the documentation blocks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("docs-postgresql/key.json", ["trailing comma", "Java toString form", "'INT32' -> 'int32'", "quoted integer"]),
        ("docs-postgresql/update.value.json", ["placeholder '{ ... }'", "trailing comma", "{debezium-version}"]),
        ("docs-postgresql/delete.value.json", ["placeholder '{ ... }'", "trailing comma"]),
        ("docs-mysql/truncate.value.json", ["placeholder", "trailing comma", "duplicate key 'name'"]),
        ("docs-tutorial-mysql/02-update.value.json", ["placeholder '{...}'", "duplicate key 'name'"]),
        ("docs-tutorial-mysql/03-delete.value.json", ["placeholder '{...}'", "duplicate key 'name'"]),
        ("docs-tutorial-mysql/04-tombstone.key.json", ["line 5: missing comma"]),
        ("debezium-examples/kafka-ssl-postgres-create-c-1005.value.json", ["placeholder '{\\n    <omitted>\\n  }'"]),
    ],
)
def test_non_strict_doc_blocks_load_with_each_repair_reported(rel: str, expected: list[str]) -> None:
    path = FIXTURES / rel
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text())
    record = load_connect_json(path)
    report = "\n".join(record.fixes)
    for fragment in expected:
        assert fragment in report, (fragment, report)
    assert record.payload is not None


def test_asciidoc_attributes_are_rendered_even_where_the_json_parses() -> None:
    # `{context}` sits inside string literals, so the block parses, but `{context}-server-1` is no Avro name.
    path = FIXTURES / "docs-mysql/create.value.json"
    json.loads(path.read_text())
    record = load_connect_json(path)
    assert "AsciiDoc attribute {context} -> 'mysql' (7x)" in record.fixes
    assert record.schema is not None and record.schema["name"] == "mysql-server-1.inventory.customers.Envelope"
    assert record.payload["source"]["file"] == "mysql-bin.000003"


def test_fixture_copies_are_verbatim() -> None:
    copies = [p for p in FIXTURES.rglob("*.json")]
    assert len(copies) == 21
    if SHARED.is_dir():  # the shared collection is where they were copied from
        for copy in copies:
            assert copy.read_bytes() == (SHARED / copy.relative_to(FIXTURES)).read_bytes(), copy


def test_strict_files_are_unchanged_by_the_lenient_loader() -> None:
    for rel in (
        "docs-tutorial-mysql/01-snapshot-read.value.json",
        "debezium-examples/engine-wasm-mysql-update-u-1001.value.json",
        "docs-tutorial-mysql/04-tombstone.value.json",
    ):
        text = (FIXTURES / rel).read_text()
        loaded = load_lenient(text, attributes={})
        assert loaded.fixes == () and loaded.data == json.loads(text)
    tombstone = load_connect_json(FIXTURES / "docs-tutorial-mysql/04-tombstone.value.json")
    assert (tombstone.schema, tombstone.payload) == (None, None)  # how JsonConverter prints a Kafka null


def test_postgres_key_example_becomes_a_connect_struct() -> None:
    key = load_connect_json(FIXTURES / "docs-postgresql/key.json")
    assert key.schema == {
        "type": "struct",
        "name": "PostgreSQL_server.public.customers.Key",
        "optional": False,
        "fields": [{"type": "int32", "optional": False, "field": "id"}],
    }
    assert key.payload == {"id": 1}


# -- Connect -> Avro -----------------------------------------------------------------------------------


def test_derived_value_schema_follows_avro_data() -> None:
    schema = DATASETS["docs-mysql"]().value_schema
    parse_schema(schema)
    assert schema["name"] == "Envelope" and schema["namespace"] == "mysql_server_1.inventory.customers"
    assert schema["connect.name"] == "mysql_server_1.inventory.customers.Envelope"
    fields = {f["name"]: f for f in schema["fields"]}
    before = fields["before"]["type"]
    assert before[0] == "null" and before[1]["name"] == "Value" and fields["before"]["default"] is None
    assert fields["after"]["type"] == ["null", "mysql_server_1.inventory.customers.Value"]  # defined once
    source = {f["name"]: f for f in fields["source"]["type"]["fields"]}
    assert fields["source"]["type"]["namespace"] == "io.debezium.connector.mysql"  # `{context}` rendered
    assert source["snapshot"] == {
        "name": "snapshot",
        "type": [{"type": "boolean", "connect.default": False}, "null"],  # a Connect default goes first
        "default": False,
    }
    assert source["query"] == {"name": "query", "type": ["null", "string"], "default": None}
    assert source["server_id"]["type"] == "long" and source["row"]["type"] == "int"
    assert fields["op"]["type"] == "string"


def test_connect_semantic_names_and_small_ints_are_kept() -> None:
    connect = {
        "type": "struct",
        "name": "srv-1.db.t.Value",
        "optional": False,
        "fields": [
            {"type": "int32", "optional": True, "name": "io.debezium.time.Date", "version": 1, "field": "d"},
            {"type": "int64", "optional": False, "name": "io.debezium.time.MicroTimestamp", "field": "ts"},
            {"type": "string", "optional": True, "name": "io.debezium.time.ZonedTimestamp", "field": "z"},
            {"type": "int16", "optional": False, "field": "small"},
            {"type": "float32", "optional": False, "field": "f"},
            {"type": "bytes", "optional": True, "field": "b"},
            {"type": "array", "items": {"type": "string", "optional": False}, "optional": False, "field": "tags"},
        ],
    }
    schema = avro_schema(connect)
    parse_schema(schema)
    assert schema["name"] == "Value" and schema["namespace"] == "srv_1.db.t"
    fields = {f["name"]: f["type"] for f in schema["fields"]}
    assert fields["d"] == ["null", {"type": "int", "connect.version": 1, "connect.name": "io.debezium.time.Date"}]
    assert fields["ts"] == {"type": "long", "connect.name": "io.debezium.time.MicroTimestamp"}
    assert fields["z"] == ["null", {"type": "string", "connect.name": "io.debezium.time.ZonedTimestamp"}]
    assert fields["small"] == {"type": "int", "connect.type": "int16"}
    assert fields["f"] == "float" and fields["b"] == ["null", "bytes"]
    assert fields["tags"] == {"type": "array", "items": "string"}
    value = avro_value(connect, {"d": 19000, "ts": 1, "z": None, "small": 3, "f": 1, "b": "AQI=", "tags": ["x"]})
    assert value["b"] == b"\x01\x02" and value["f"] == 1.0
    assert avro_roundtrip(schema, value) == value
    with pytest.raises(TypeError):
        avro_value(connect, {**value, "small": "3"})
    with pytest.raises(ValueError, match="required"):
        avro_value(connect, {**value, "ts": None})


def test_engine_wasm_layout_matches_the_printed_member_order() -> None:
    schema = debezium3_layout(load_connect_json(FIXTURES / "docs-mysql/create.value.json").schema or {})
    for rel in ("engine-wasm-mysql-snapshot-r-1004.value.json", "engine-wasm-mysql-update-u-1001.value.json"):
        payload = load_connect_json(FIXTURES / "debezium-examples" / rel).payload
        assert [f["field"] for f in schema["fields"]] == list(payload)
        source = next(f for f in schema["fields"] if f["field"] == "source")
        assert [f["field"] for f in source["fields"]] == list(payload["source"])
    snapshot = avro_schema(schema)["fields"][2]["type"]["fields"][4]
    assert snapshot["type"][0]["connect.name"] == "io.debezium.data.Enum"
    assert snapshot["type"][0]["connect.parameters"]["allowed"].startswith("true,first,")


# -- through the core ------------------------------------------------------------------------------------


def test_policy_leaves_nothing_uncovered(run: Run) -> None:
    assert run.envelope.uncovered == ()
    assert run.key_plan.record.uncovered == ()
    assert {path for path, _ in run.envelope.actions if "." not in path} == set(COLUMNS)


EXPECTED_OPS = {
    "docs-postgresql-nullable": ["c", "u", "d", TOMBSTONE, "t"],
    "docs-postgresql-not-null": ["c", "u", "d", TOMBSTONE, "t"],
    "docs-mysql": ["c", "u", "d", TOMBSTONE, "t"],
    "docs-tutorial-mysql": ["r", "u", "d", TOMBSTONE],
    "engine-wasm-mysql": ["r", "u"],
}


def test_every_event_is_anonymized_per_operation(run: Run) -> None:
    seen = []
    for event, given, out in run.pairs():
        seen.append(event.op)
        assert out.operation == event.op, event.name  # what the audit event records
        if event.op == TOMBSTONE:
            continue
        value = out.value
        assert value is not None and given.value is not None
        assert value["op"] == event.op
        for name, unit in (("ts_ms", "ms"), ("ts_us", "us"), ("ts_ns", "ns")):  # coarsened to the hour
            expected = None if given.value.get(name) is None else coarsen_epoch(given.value[name], unit, "hour")
            assert value.get(name) == expected, name
        if event.op in ("r", "c"):
            assert value["before"] is None
            assert_image(given.value["after"], value["after"])
        elif event.op == "u":
            assert_image(given.value["before"], value["before"])
            assert_image(given.value["after"], value["after"])
        elif event.op == "d":
            assert value["after"] is None
            assert_image(given.value["before"], value["before"])
        elif event.op == "t":
            assert value["before"] is None and value["after"] is None
            assert out.key is None and given.key is None
        else:
            raise AssertionError(f"unexpected op {event.op}")
        if out.key is not None:
            image = value["after"] or value["before"]
            assert out.key == {"id": image["id"]}  # the output key is the row's id token
    assert seen == EXPECTED_OPS[run.dataset.name]


def test_update_keeps_tokens_of_unchanged_values(run: Run) -> None:
    _, given, out = run.only("u")
    assert given.value is not None and out.value is not None
    before, after = out.value["before"], out.value["after"]
    for column in ("id", "last_name", "email"):
        if given.value["before"][column] == given.value["after"][column]:
            assert before[column] == after[column], column
    changed = given.value["before"]["first_name"] != given.value["after"]["first_name"]
    assert changed  # every update in the fixtures changes first_name (Anne -> Anne Marie, Sally -> Sarah)


def test_same_row_gets_the_same_key_token_in_every_event(run: Run) -> None:
    by_row: dict[int, set[str]] = {}
    for event, _, out in run.pairs():
        if event.key is not None:
            assert out.key is not None
            by_row.setdefault(event.key["id"], set()).add(out.key["id"])
    assert by_row and all(len(tokens) == 1 for tokens in by_row.values()), by_row


def test_tombstone_keeps_the_delete_key_token(run: Run) -> None:
    pairs = run.pairs()
    tombstones = [i for i, (event, _, _) in enumerate(pairs) if event.op == TOMBSTONE]
    if run.dataset.name == "engine-wasm-mysql":
        assert tombstones == []  # r and u only
        return
    [i] = tombstones
    delete, tombstone = pairs[i - 1], pairs[i]
    assert delete[0].op == "d"
    assert tombstone[1].value is None and tombstone[2].value is None
    assert tombstone[2].key is not None and tombstone[2].key == delete[2].key
    assert tombstone[2].operation == "TOMBSTONE"
    assert encode(run.key_plan.output_schema, tombstone[2].key) == encode(run.key_plan.output_schema, delete[2].key)


# MySQL's raw SQL text is dropped. So is the tutorial's `ts_sec` (the pre-1.0 MySQL source timestamp): not one
# of the fields the anonymizer knows, so it fails closed (dropped, listed as a drop action).
DROPPED_SOURCE_FIELDS = {"query", "ts_sec"}
# Positions are dropped by the default metadata policy: each is a clock or a counter next to one.
POSITIONS = {"sequence", "txId", "lsn", "xmin", "gtid", "file", "pos", "row", "thread"}


def test_source_block_keeps_technical_fields_coarsens_times_drops_positions_and_query(run: Run) -> None:
    for event, given, out in run.pairs():
        if given.value is None:
            continue
        assert out.value is not None
        raw_source = given.value["source"]
        expected = {
            k: coarsen_epoch(v, k[-2:], "hour") if k in ("ts_ms", "ts_us", "ts_ns") and v is not None else v
            for k, v in raw_source.items()
            if k not in DROPPED_SOURCE_FIELDS | POSITIONS
        }
        assert out.value["source"] == expected, event.name
        for name in POSITIONS & set(raw_source):
            assert (f"source.{name}", "drop") in run.envelope.actions
        for name in DROPPED_SOURCE_FIELDS & set(raw_source):
            assert (f"source.{name}", "drop") in run.envelope.actions
    out_source = next(f for f in run.envelope.output_schema["fields"] if f["name"] == "source")["type"]
    assert "query" not in {f["name"] for f in out_source["fields"]}
    in_source = next(f for f in run.dataset.value_schema["fields"] if f["name"] == "source")["type"]
    if run.dataset.connector == "mysql" and "query" in {f["name"] for f in in_source["fields"]}:
        assert ("source.query", "drop") in run.envelope.actions
    if run.dataset.name == "docs-mysql":  # the reference prints the SQL text, PII included
        queries = [e.payload["source"].get("query") for e in run.dataset.events if e.payload]
        assert "INSERT INTO customers (first_name, last_name, email) VALUES ('Anne', 'Kretchmar', " in queries[0]


def test_transaction_is_a_position_dropped_by_default(run: Run) -> None:
    has_transaction = any(f["name"] == "transaction" for f in run.dataset.value_schema["fields"])
    assert has_transaction == (run.dataset.name == "engine-wasm-mysql")
    for _, given, out in run.pairs():
        if given.value is None or out.value is None:
            continue
        assert "transaction" not in out.value
    if has_transaction:
        assert ("envelope.transaction", "drop") in run.envelope.actions


def test_a_transaction_block_the_policy_keeps_passes_through_unchanged() -> None:
    dataset = DATASETS["engine-wasm-mysql"]()
    event = dataset.events[1]
    assert event.value is not None
    # Debezium's transaction metadata block, as documented (transaction id, total and per-table order).
    block = {"id": "571:53195829", "total_order": 1, "data_collection_order": 1}
    assert [f["field"] for f in TRANSACTION_BLOCK["fields"]] == list(block)
    value = avro_roundtrip(dataset.value_schema, {**event.value, "transaction": block})
    source = customers_source({"fields": {"envelope.transaction": "keep"}})
    envelope = compile_envelope(source, dataset.value_schema, KEYRING)
    key_plan = compile_key(source, dataset.key_schema, KEYRING)
    [out] = anonymize_batch(key_plan, envelope, [EventIn(event.key, value)])
    assert isinstance(out, EventOut) and out.value is not None
    assert out.value["transaction"] == block
    encode(envelope.output_schema, out.value)


def test_outputs_encode_against_the_derived_output_schemas_and_hold_no_raw_value(run: Run) -> None:
    raw = run.dataset.raw_strings()
    assert raw
    for event, _, out in run.pairs():
        blob = b""
        if out.key is not None:
            blob += encode(run.key_plan.output_schema, out.key)
            assert avro_roundtrip(run.key_plan.output_schema, out.key) == out.key
        if out.value is not None:
            blob += encode(run.envelope.output_schema, out.value)
            assert avro_roundtrip(run.envelope.output_schema, out.value) == out.value
        for text in raw:
            assert text.encode() not in blob, (event.name, text)
        if event.op != TOMBSTONE:
            assert blob


def test_postgres_replica_identity_default_before_holds_only_the_key() -> None:
    run = run_dataset(DATASETS["docs-postgresql-nullable"]())
    for op in ("u", "d"):
        _, given, out = run.only(op)
        assert given.value is not None and out.value is not None
        assert given.value["before"] == {"id": 1, "first_name": None, "last_name": None, "email": None}
        assert out.value["before"] == {"id": TOKEN["id"](1), "first_name": None, "last_name": None, "email": None}
    _, _, update = run.only("u")
    assert update.value is not None and update.value["after"]["id"] == update.value["before"]["id"]


def test_postgres_not_null_columns_filled_by_debezium_are_anonymized_too() -> None:
    # With the docs' own schema (NOT NULL columns) Debezium cannot emit null: it writes "" for the columns
    # the WAL did not carry. Those empty strings go through the same rules.
    run = run_dataset(DATASETS["docs-postgresql-not-null"]())
    _, given, out = run.only("d")
    assert given.value is not None and out.value is not None
    assert given.value["before"] == {"id": 1, "first_name": "", "last_name": "", "email": ""}
    before = out.value["before"]
    assert before["id"] == TOKEN["id"](1) and before["last_name"] == TOKEN["last_name"]("")
    assert before["first_name"] not in ("", None)
