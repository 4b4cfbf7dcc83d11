from __future__ import annotations

import json
from typing import Any

import pytest
from fastavro import parse_schema

from streams.envelope.base import CompiledKey, compile_key
from streams.envelope.debezium import CompiledEnvelope, compile_envelope
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.model import SourcePolicy
from streams.transforms.base import BatchContext

from ..support import ACCOUNTS_TOPIC, CONTACTS_TOPIC, TEST_KEY_ID, load_avsc


def field_map(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in record["fields"]}


def row_record(envelope: CompiledEnvelope) -> dict[str, Any]:
    before = field_map(envelope.output_schema)["before"]["type"]
    assert before[0] == "null"
    return before[1]


def test_contacts_output_schema_parses_and_is_anonymized(contacts_plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    _, envelope = contacts_plans
    schema = envelope.output_schema
    parse_schema(schema)  # writable as-is (named types deduplicated)
    assert schema["name"] == "anon.crm.public.contacts.Envelope"
    assert not any(k.startswith("connect.") for k in schema)
    row = row_record(envelope)
    assert row["name"] == "anon.crm.public.contacts.Value"
    # `after` refers to the same named row type
    assert field_map(schema)["after"]["type"] == ["null", "anon.crm.public.contacts.Value"]


def test_contacts_updated_at_is_uncovered_and_absent(contacts_plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    _, envelope = contacts_plans
    assert "updated_at" in envelope.uncovered
    row_fields = field_map(row_record(envelope))
    assert "updated_at" not in row_fields
    assert ("updated_at", "drop") in envelope.actions
    # explicitly dropped fields are absent but not "uncovered"
    for dropped in ("street", "notes"):
        assert dropped not in row_fields
        assert dropped not in envelope.uncovered
        assert (dropped, "drop") in envelope.actions
    assert "updated_at" not in json.dumps(envelope.output_schema)


def test_contacts_field_types_and_docs(contacts_plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    _, envelope = contacts_plans
    row = field_map(row_record(envelope))
    assert row["id"]["type"] == "string"
    assert row["id"]["doc"] == f"crm-anonymizer: tokenize(scope=contact,key={TEST_KEY_ID})"
    assert row["account_id"]["type"] == ["null", "string"]
    assert row["email"]["doc"].endswith(f"tokenize(scope=email,key={TEST_KEY_ID})")
    assert row["birth_date"]["type"] == ["null", "int"]  # year
    assert "connect.name" not in json.dumps(row["birth_date"])
    assert row["created_at"]["type"] == "string"  # month
    assert row["lifetime_value"]["type"] == ["null", "double"]
    assert row["postal_code"]["doc"].endswith("generalize(prefix_length=3)")
    assert row["marketing_opt_in"]["type"] == "boolean"
    assert row["first_name"]["doc"].endswith("mask(style=auto,first=1,last=0)")
    for name, fld in row.items():
        assert fld["doc"].startswith("crm-anonymizer: "), name


def test_contacts_envelope_parts(contacts_plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    _, envelope = contacts_plans
    # Default metadata policy: times coarsened to the hour, positions (transaction, lsn) dropped.
    assert [name for name, _ in envelope.passthrough] == ["op", "ts_ms", "ts_us", "ts_ns"]
    assert all(a is None or a.label == "coarsen(hour)" for _, a in envelope.passthrough)
    source_kept = dict(envelope.source_fields)
    assert source_kept["table"].label == "keep"
    assert source_kept["ts_ms"].label == "coarsen(hour)"
    assert "lsn" not in source_kept and "txId" not in source_kept
    names = [f["name"] for f in envelope.output_schema["fields"]]
    assert names == ["before", "after", "source", "op", "ts_ms", "ts_us", "ts_ns"]


def test_mysql_source_query_is_dropped(accounts_plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    _, envelope = accounts_plans
    assert "query" not in dict(envelope.source_fields)
    source_type = field_map(envelope.output_schema)["source"]["type"]
    assert "query" not in field_map(source_type)
    assert "pos" not in field_map(source_type)  # a binlog position: dropped by default
    assert ("source.query", "drop") in envelope.actions
    parse_schema(envelope.output_schema)


def test_accounts_row(accounts_plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    _, envelope = accounts_plans
    row = field_map(row_record(envelope))
    assert set(row) == {
        "id",
        "name",
        "phone",
        "industry",
        "billing_city",
        "billing_postal_code",
        "billing_country",
        "annual_revenue",
        "employee_count",
        "owner_email",
        "created_at",
    }
    assert envelope.uncovered == ()
    assert row["employee_count"]["type"] == ["null", "int"]


def test_key_compile_uses_row_rule(contacts_plans: tuple[CompiledKey, CompiledEnvelope]) -> None:
    key, envelope = contacts_plans
    parse_schema(key.output_schema)
    assert key.output_schema["name"] == "anon.crm.public.contacts.Key"
    assert field_map(key.output_schema)["id"]["type"] == "string"
    assert key.record.actions == (("key.id", f"tokenize(scope=contact,key={TEST_KEY_ID})"),)
    key_token = key.record.plan[0].transform.apply([1001], BatchContext())
    row_id = next(p for p in envelope.row.plan if p.name == "id")
    assert key_token == row_id.transform.apply([1001], BatchContext())


def test_key_rule_overrides_row_rule(contacts_source: SourcePolicy, keyring: KeyRing) -> None:
    source = contacts_source.model_copy(
        update={"key": {"id": contacts_source.fields["account_id"]}}  # tokenize scope=account
    )
    key = compile_key(source, load_avsc(CONTACTS_TOPIC, "key"), keyring)
    assert key.record.actions == (("key.id", f"tokenize(scope=account,key={TEST_KEY_ID})"),)


def test_key_left_uncovered_is_a_policy_error(contacts_source: SourcePolicy, keyring: KeyRing) -> None:
    fields = {k: v for k, v in contacts_source.fields.items() if k != "id"}
    source = contacts_source.model_copy(update={"fields": fields})
    with pytest.raises(PolicyError) as info:
        compile_key(source, load_avsc(CONTACTS_TOPIC, "key"), keyring)
    assert "'contacts'" in str(info.value)
    assert "key" in str(info.value)


def test_key_dropped_is_a_policy_error(contacts_source: SourcePolicy, keyring: KeyRing) -> None:
    source = contacts_source.model_copy(update={"key": {"id": contacts_source.fields["street"]}})  # drop
    with pytest.raises(PolicyError, match="no key field"):
        compile_key(source, load_avsc(CONTACTS_TOPIC, "key"), keyring)


def test_mask_on_long_field_names_the_field(contacts_source: SourcePolicy, keyring: KeyRing) -> None:
    fields = dict(contacts_source.fields)
    fields["account_id"] = contacts_source.fields["first_name"]  # mask
    source = contacts_source.model_copy(update={"fields": fields})
    with pytest.raises(PolicyError) as info:
        compile_envelope(source, load_avsc(CONTACTS_TOPIC, "value"), keyring)
    assert "account_id" in str(info.value)
    assert "mask" in str(info.value)


def test_generalize_year_on_plain_string_is_refused(contacts_source: SourcePolicy, keyring: KeyRing) -> None:
    fields = dict(contacts_source.fields)
    fields["city"] = contacts_source.fields["birth_date"]  # generalize to=year
    source = contacts_source.model_copy(update={"fields": fields})
    with pytest.raises(PolicyError, match="city"):
        compile_envelope(source, load_avsc(CONTACTS_TOPIC, "value"), keyring)


def test_non_debezium_value_schema_is_refused(contacts_source: SourcePolicy, keyring: KeyRing) -> None:
    plain = {"type": "record", "name": "Plain", "fields": [{"name": "id", "type": "long"}]}
    with pytest.raises(PolicyError, match="Debezium"):
        compile_envelope(contacts_source, plain, keyring)


def test_unknown_envelope_field_is_dropped_and_reported(contacts_source: SourcePolicy, keyring: KeyRing) -> None:
    schema = load_avsc(CONTACTS_TOPIC, "value")
    schema["fields"].append({"name": "message", "type": ["null", "string"], "default": None})
    envelope = compile_envelope(contacts_source, schema, keyring)
    assert "envelope.message" in envelope.uncovered
    assert "message" not in field_map(envelope.output_schema)
    assert "message" not in envelope.passthrough


def test_accounts_key_compiles(accounts_source: SourcePolicy, keyring: KeyRing) -> None:
    key = compile_key(accounts_source, load_avsc(ACCOUNTS_TOPIC, "key"), keyring)
    assert key.record.actions == (("key.id", f"tokenize(scope=account,key={TEST_KEY_ID})"),)
