"""Policies that address nested data: ``address.city``, ``phones[]``, ``attributes{}``, ``contacts[].email``."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.core import EventIn, EventOut, anonymize_batch
from streams.envelope.base import CompiledKey
from streams.envelope.debezium import CompiledEnvelope
from streams.envelope.registry import compile_source_key, compile_source_value
from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.policy.lint import DirectorySchemas, lint_policy
from streams.policy.loader import parse_policy
from streams.policy.model import SourcePolicy
from streams.transforms.mask import Mask
from streams.transforms.tokenize import Tokenize

from ..support import TEST_KEY, TEST_KEY_ID

TOPIC = "shop.people"

ADDRESS: dict[str, Any] = {
    "type": "record",
    "name": "Address",
    "fields": [
        {"name": "street", "type": "string"},
        {"name": "city", "type": ["null", "string"], "default": None},
        {"name": "zip", "type": "string"},
    ],
}
CONTACT: dict[str, Any] = {
    "type": "record",
    "name": "Contact",
    "fields": [
        {"name": "email", "type": "string"},
        {"name": "role", "type": ["null", "string"], "default": None},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
ROW: dict[str, Any] = {
    "type": "record",
    "name": "Value",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "address", "type": ["null", ADDRESS], "default": None},
        {"name": "phones", "type": {"type": "array", "items": ["null", "string"]}},
        {"name": "attributes", "type": {"type": "map", "values": "string"}},
        {"name": "contacts", "type": {"type": "array", "items": CONTACT}},
        {"name": "tags", "type": ["null", {"type": "array", "items": "string"}], "default": None},
    ],
}
VALUE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Envelope",
    "namespace": TOPIC,
    "fields": [
        {"name": "before", "type": ["null", ROW], "default": None},
        {"name": "after", "type": ["null", "Value"], "default": None},
        {"name": "op", "type": "string"},
        {"name": "ts_ms", "type": ["null", "long"], "default": None},
    ],
}
KEY_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Key",
    "namespace": TOPIC,
    "fields": [{"name": "id", "type": "long"}],
}

RULES = """\
      id: keep
      address.city: keep
      address.street: drop
      phones[]: {transform: mask, style: phone}
      attributes{}: {transform: tokenize, scope: attr}
      attributes{keys}: keep
      contacts[].email: {transform: tokenize, scope: email}
      contacts[].role: keep
      tags[]: {transform: tokenize, scope: tag}
"""


def policy_text(rules: str = RULES, extra: str = "") -> str:
    return (
        "id: nested\n"
        "version: 1\n"
        "sources:\n"
        "  - name: people\n"
        f"    topic: {TOPIC}\n"
        "    envelope: debezium\n"
        f"    output_topic: anon.{TOPIC}\n"
        f"{extra}"
        "    fields:\n"
        f"{rules}"
    )


def source_for(rules: str = RULES, extra: str = "") -> SourcePolicy:
    [source] = parse_policy(policy_text(rules, extra).encode(), Path("nested.yaml")).policy.sources
    return source


def compile_value(source: SourcePolicy, keyring: KeyRing, schema: Any = VALUE_SCHEMA) -> CompiledEnvelope:
    return compile_source_value(source, copy.deepcopy(schema), keyring)


@pytest.fixture(scope="module")
def plans(keyring: KeyRing) -> tuple[CompiledKey, CompiledEnvelope]:
    source = source_for()
    return compile_source_key(source, KEY_SCHEMA, keyring), compile_value(source, keyring)


@pytest.fixture(scope="module")
def envelope(plans: tuple[CompiledKey, CompiledEnvelope]) -> CompiledEnvelope:
    return plans[1]


def row_out_schema(compiled: CompiledEnvelope) -> dict[str, Any]:
    before = next(f for f in compiled.output_schema["fields"] if f["name"] == "before")
    row = before["type"][1]
    assert isinstance(row, dict)
    return row


def out_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: f["type"] for f in record["fields"]}


def full_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 7,
        "address": {"street": "12 Secret Lane", "city": "Oslo", "zip": "0150"},
        "phones": ["+47 22 33 44 55", None, "+1 202 555 0143"],
        "attributes": {"vip": "yes", "referrer": "ada@example.com"},
        "contacts": [
            {"email": "ada@example.com", "role": "owner", "note": "call after 5"},
            {"email": "bob@example.com", "role": None, "note": None},
            {"email": "ada@example.com", "role": "billing", "note": None},
        ],
        "tags": ["gold", "emea"],
    }
    row.update(overrides)
    return row


def empty_row() -> dict[str, Any]:
    return {"id": 8, "address": None, "phones": [], "attributes": {}, "contacts": [], "tags": None}


def event(row: dict[str, Any] | None, before: dict[str, Any] | None = None, op: str = "c") -> EventIn:
    key = {"id": (row or before or {"id": 0})["id"]}
    return EventIn(key, {"before": before, "after": row, "op": op, "ts_ms": 1_760_000_000_000})


def run(plans: tuple[CompiledKey, CompiledEnvelope], *events: EventIn) -> list[EventOut]:
    outcomes = anonymize_batch(plans[0], plans[1], list(events))
    results = []
    for outcome in outcomes:
        assert isinstance(outcome, EventOut), outcome
        results.append(outcome)
    return results


def roundtrip(schema: dict[str, Any], value: dict[str, Any]) -> Any:
    parsed = parse_schema(copy.deepcopy(schema))
    buf = io.BytesIO()
    schemaless_writer(buf, parsed, value)
    buf.seek(0)
    return schemaless_reader(buf, parsed, None)


def token(scope: str, value: str) -> str:
    return Tokenize(TEST_KEY, TEST_KEY_ID, scope).token(value)


# --- compilation -------------------------------------------------------------------------------------------


def test_output_schema_parses(envelope: CompiledEnvelope) -> None:
    parse_schema(copy.deepcopy(envelope.output_schema))


def test_output_schema_shape(envelope: CompiledEnvelope) -> None:
    row = row_out_schema(envelope)
    fields = out_fields(row)
    assert list(fields) == ["id", "address", "phones", "attributes", "contacts", "tags"]
    null, address = fields["address"]
    assert null == "null"
    assert address["type"] == "record"
    assert address["name"].startswith("anon.")
    assert out_fields(address) == {"city": ["null", "string"]}  # street dropped, zip uncovered (dropped)
    assert fields["phones"] == {"type": "array", "items": ["null", "string"]}
    assert fields["attributes"] == {"type": "map", "values": "string"}
    contact = fields["contacts"]["items"]
    assert contact["name"].startswith("anon.")
    assert out_fields(contact) == {"email": "string", "role": ["null", "string"]}
    assert fields["tags"] == ["null", {"type": "array", "items": "string"}]
    assert "12 Secret Lane" not in json.dumps(envelope.output_schema)


def test_uncovered_nested_fields_are_reported_with_dotted_paths(envelope: CompiledEnvelope) -> None:
    assert envelope.uncovered == ("address.zip", "contacts[].note")


def test_actions_list_nested_paths(envelope: CompiledEnvelope) -> None:
    actions = dict(envelope.actions)
    assert actions["address.street"] == "drop"
    assert actions["address.city"] == "keep"
    assert actions["address.zip"] == "drop"
    assert actions["phones[]"].startswith("mask(style=phone")
    assert actions["attributes{}"] == f"tokenize(scope=attr,key={TEST_KEY_ID})"
    assert actions["contacts[].email"] == f"tokenize(scope=email,key={TEST_KEY_ID})"
    assert actions["contacts[].role"] == "keep"
    assert actions["contacts[].note"] == "drop"
    assert actions["tags[]"] == f"tokenize(scope=tag,key={TEST_KEY_ID})"
    row_paths = [path for path, _ in envelope.row.actions]
    assert row_paths.index("address.street") < row_paths.index("phones[]") < row_paths.index("contacts[].email")


def test_output_types_list_nested_paths(envelope: CompiledEnvelope) -> None:
    types = {path: (in_type, out_type) for path, in_type, out_type in envelope.output_types}
    assert types["address.city"] == ("string?", "string?")
    assert types["address.street"] == ("string", "-")
    assert types["phones[]"] == ("string?", "string?")
    assert types["attributes{}"] == ("string", "string")
    assert types["contacts[].email"] == ("string", "string")


def test_lint_reports_uncovered_nested_paths(tmp_path: Path, keyring: KeyRing) -> None:
    (tmp_path / f"{TOPIC}-value.avsc").write_text(json.dumps(VALUE_SCHEMA))
    (tmp_path / f"{TOPIC}-key.avsc").write_text(json.dumps(KEY_SCHEMA))
    loaded = parse_policy(policy_text().encode(), Path("nested.yaml"))
    report = lint_policy(loaded, DirectorySchemas(tmp_path), keyring)
    assert [(f.level, f.code, f.path) for f in report.findings] == [
        ("error", "uncovered", "address.zip"),
        ("error", "uncovered", "contacts[].note"),
    ]
    fields = [r["field"] for r in report.sources[0].rows]
    assert "contacts[].email" in fields
    assert "attributes{}" in fields


def test_fully_covered_nested_policy_lints_clean(tmp_path: Path, keyring: KeyRing) -> None:
    (tmp_path / f"{TOPIC}-value.avsc").write_text(json.dumps(VALUE_SCHEMA))
    (tmp_path / f"{TOPIC}-key.avsc").write_text(json.dumps(KEY_SCHEMA))
    rules = RULES + "      address.zip: {transform: generalize, prefix_length: 2}\n      contacts[].note: drop\n"
    loaded = parse_policy(policy_text(rules).encode(), Path("nested.yaml"))
    report = lint_policy(loaded, DirectorySchemas(tmp_path), keyring)
    assert report.ok
    assert report.findings == []


def test_container_with_dropped_elements_leaves_the_output(keyring: KeyRing) -> None:
    rules = RULES.replace("phones[]: {transform: mask, style: phone}", "phones[]: drop")
    compiled = compile_value(source_for(rules), keyring)
    assert "phones" not in out_fields(row_out_schema(compiled))
    assert dict(compiled.actions)["phones[]"] == "drop"


def test_container_without_rules_below_is_uncovered(keyring: KeyRing) -> None:
    rules = "\n".join(line for line in RULES.splitlines() if "attributes" not in line) + "\n"
    compiled = compile_value(source_for(rules), keyring)
    assert "attributes" in compiled.uncovered
    assert "attributes" not in out_fields(row_out_schema(compiled))


def test_nested_transform_that_does_not_fit_names_the_path(keyring: KeyRing) -> None:
    rules = RULES.replace("address.city: keep", "address.city: {transform: generalize, bucket_width: 10}")
    with pytest.raises(PolicyError, match=r"address\.city"):
        compile_value(source_for(rules), keyring)


def test_nested_unknown_key_names_the_path(keyring: KeyRing) -> None:
    rules = RULES.replace("{transform: tokenize, scope: email}", "{transform: tokenize, scope: email, key: nope}")
    with pytest.raises(PolicyError, match=r"contacts\[\]\.email.*nope"):
        compile_value(source_for(rules), keyring)


# --- anonymization -----------------------------------------------------------------------------------------


def test_nested_values_are_transformed_per_element(plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    [out] = run(plans, event(full_row()))
    assert out.value is not None
    row = out.value["after"]
    assert row["id"] == 7
    assert row["address"] == {"city": "Oslo"}
    phone_mask = Mask(style="phone")
    assert row["phones"] == [phone_mask.mask("+47 22 33 44 55"), None, phone_mask.mask("+1 202 555 0143")]
    assert row["attributes"] == {"vip": token("attr", "yes"), "referrer": token("attr", "ada@example.com")}
    assert row["contacts"] == [
        {"email": token("email", "ada@example.com"), "role": "owner"},
        {"email": token("email", "bob@example.com"), "role": None},
        {"email": token("email", "ada@example.com"), "role": "billing"},
    ]
    assert row["tags"] == [token("tag", "gold"), token("tag", "emea")]
    assert out.uncovered == ("address.zip", "contacts[].note")


def test_same_email_in_two_contacts_gives_the_same_token(plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    [out] = run(plans, event(full_row()))
    assert out.value is not None
    emails = [c["email"] for c in out.value["after"]["contacts"]]
    assert emails[0] == emails[2]
    assert emails[0] != emails[1]
    assert emails[0].startswith(f"tok_{TEST_KEY_ID}_")


def test_same_value_across_events_and_images_gives_the_same_token(
    plans: tuple[CompiledKey, CompiledEnvelope],
) -> None:
    first, second = run(plans, event(full_row()), event(full_row(id=9), before=full_row(id=9), op="u"))
    assert first.value is not None
    assert second.value is not None
    expected = first.value["after"]["contacts"]
    assert second.value["before"]["contacts"] == expected
    assert second.value["after"]["contacts"] == expected


def test_no_raw_nested_value_reaches_the_output(plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    [out] = run(plans, event(full_row()))
    text = repr(out.value)
    for raw in ("12 Secret Lane", "0150", "ada@example.com", "bob@example.com", "call after 5", "gold", "yes"):
        assert raw not in text


def test_empty_and_null_containers(plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    [out] = run(plans, event(empty_row()))
    assert out.value is not None
    assert out.value["after"] == {
        "id": 8,
        "address": None,
        "phones": [],
        "attributes": {},
        "contacts": [],
        "tags": None,
    }


def test_array_of_only_null_elements(plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    [out] = run(plans, event(full_row(phones=[None, None])))
    assert out.value is not None
    assert out.value["after"]["phones"] == [None, None]


def test_batch_mixes_full_and_empty_rows(plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    outs = run(plans, event(full_row()), event(empty_row()), event(full_row(id=10, phones=["+47 99 88 77 66"])))
    assert outs[1].value is not None
    assert outs[1].value["after"]["contacts"] == []
    assert outs[2].value is not None
    assert outs[2].value["after"]["phones"] == [Mask(style="phone").mask("+47 99 88 77 66")]
    assert outs[0].value is not None
    assert len(outs[0].value["after"]["contacts"]) == 3


def test_output_encodes_with_the_derived_schema(plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    outs = run(plans, event(full_row()), event(empty_row()), event(full_row(id=9), before=full_row(id=9), op="u"))
    for out in outs:
        assert out.value is not None
        assert roundtrip(plans[1].output_schema, out.value) == out.value
        assert out.key is not None
        assert roundtrip(plans[0].output_schema, out.key) == out.key


def test_null_element_in_non_nullable_array_fails_only_that_event(
    plans: tuple[CompiledKey, CompiledEnvelope],
) -> None:
    bad = full_row(id=11, contacts=[{"email": "x@example.com", "role": None, "note": None}, None])
    good, failed = anonymize_batch(plans[0], plans[1], [event(full_row()), event(bad)])
    assert isinstance(good, EventOut)
    assert isinstance(failed, AnonymizationError)
    assert failed.code is ReasonCode.WRONG_TYPE
    assert failed.field == "contacts"
    assert "x@example.com" not in str(failed)


def test_wrong_container_type_is_an_error_not_a_leak(plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    [failed] = anonymize_batch(plans[0], plans[1], [event(full_row(attributes=["leak@example.com"]))])
    assert isinstance(failed, AnonymizationError)
    assert "leak@example.com" not in str(failed)


# --- policies whose nested rules must not be silently ignored ----------------------------------------------


def test_default_keep_passes_uncovered_nested_fields_through(keyring: KeyRing) -> None:
    """``default: keep`` keeps uncovered fields, nested ones too (the linter warns about exactly that).

    Currently compile_envelope (streams/envelope/debezium.py) never passes ``source.default`` to
    compile_record, so ``address.zip`` is dropped despite ``default: keep``.
    """
    source = source_for(extra="    default: keep\n")
    compiled = compile_value(source, keyring)
    assert compiled.uncovered == ("address.zip", "contacts[].note")
    address = out_fields(row_out_schema(compiled))["address"][1]
    assert set(out_fields(address)) == {"city", "zip"}
    [out] = anonymize_batch(None, compiled, [EventIn(None, {"before": None, "after": full_row(), "op": "c"})])
    assert isinstance(out, EventOut)
    assert out.value is not None
    assert out.value["after"]["address"] == {"city": "Oslo", "zip": "0150"}


def test_child_drop_under_a_kept_parent_is_not_ignored(keyring: KeyRing) -> None:
    """``address: keep`` next to ``address.street: drop`` must not let the street through.

    Either the compiler refuses the overlapping rules (PolicyError naming the path) or it honours the child.
    Currently the parent rule wins silently and the street is published.
    """
    rules = "      id: keep\n      address: keep\n      address.street: drop\n"
    schema = {
        **VALUE_SCHEMA,
        "fields": [
            {"name": "before", "type": ["null", {**ROW, "fields": ROW["fields"][:2]}], "default": None},
            *VALUE_SCHEMA["fields"][1:],
        ],
    }
    try:
        compiled = compile_value(source_for(rules), keyring, schema)
    except PolicyError as exc:
        assert "address.street" in str(exc)
        return
    row = {"id": 1, "address": {"street": "12 Secret Lane", "city": "Oslo", "zip": "0150"}}
    [out] = anonymize_batch(None, compiled, [EventIn(None, {"before": None, "after": row, "op": "c"})])
    assert isinstance(out, EventOut)
    assert "12 Secret Lane" not in repr(out.value)


def test_one_record_type_used_twice_with_different_rules_encodes(keyring: KeyRing) -> None:
    """Two fields of the same named record type, each with its own nested rules, give two output shapes.

    Currently both output records are named ``anon.shop.people.Address``; dedupe_named keeps the first
    definition and the second field references it, so the derived schema is wrong for ``work`` and every
    event fails to encode.
    """
    row = {
        "type": "record",
        "name": "Value",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "home", "type": ADDRESS},
            {"name": "work", "type": "Address"},
        ],
    }
    schema = {**VALUE_SCHEMA, "fields": [{"name": "before", "type": ["null", row]}, *VALUE_SCHEMA["fields"][1:]]}
    rules = (
        "      id: keep\n"
        "      home.city: keep\n      home.street: drop\n      home.zip: drop\n"
        "      work.street: {transform: mask}\n      work.city: drop\n      work.zip: keep\n"
    )
    compiled = compile_value(source_for(rules), keyring, schema)
    parse_schema(copy.deepcopy(compiled.output_schema))
    value = {
        "id": 1,
        "home": {"street": "1 Home Rd", "city": "Oslo", "zip": "0150"},
        "work": {"street": "2 Office Rd", "city": "Bergen", "zip": "5003"},
    }
    [out] = anonymize_batch(None, compiled, [EventIn(None, {"before": None, "after": value, "op": "c"})])
    assert isinstance(out, EventOut)
    assert out.value is not None
    assert out.value["after"]["home"] == {"city": "Oslo"}
    assert out.value["after"]["work"]["zip"] == "5003"
    assert roundtrip(compiled.output_schema, out.value) == out.value
