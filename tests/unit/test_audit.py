from __future__ import annotations

import io
import json

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.audit import AUDIT_SCHEMA, AuditEncoder, PolicyRef, SourcePosition, anonymization_audit


def test_audit_record_encodes_and_names_actions_only() -> None:
    audit = anonymization_audit(
        SourcePosition("crm.public.contacts", 1, 99, None),
        PolicyRef("crm-default", 1, "cd" * 32),
        outcome="PUBLISHED",
        operation="u",
        output_topic="anon.crm.public.contacts",
        schema_ids_in=(1, 2),
        schema_ids_out=(3, 4),
        actions=(("email", "tokenize(scope=email,key=k1)"), ("notes", "drop")),
        uncovered=("updated_at",),
    )
    parsed = parse_schema(AUDIT_SCHEMA)
    buf = io.BytesIO()
    schemaless_writer(buf, parsed, audit)
    buf.seek(0)
    decoded = schemaless_reader(buf, parsed, None)
    assert decoded["outcome"] == "PUBLISHED"
    assert decoded["kind"] == "ANONYMIZATION"
    assert decoded["field_actions"] == [
        {"path": "email", "action": "tokenize(scope=email,key=k1)"},
        {"path": "notes", "action": "drop"},
    ]
    assert decoded["uncovered_fields"] == ["updated_at"]
    assert (decoded["source_topic"], decoded["source_partition"], decoded["source_offset"]) == (
        "crm.public.contacts",
        1,
        99,
    )
    assert decoded["policy_hash"] == "cd" * 32
    assert decoded["reason_code"] is None


def test_dead_letter_audit_without_policy() -> None:
    audit = anonymization_audit(
        SourcePosition("t", 0, 0), None, outcome="DEAD_LETTERED", reason_code="wire.bad_magic_byte"
    )
    assert audit["policy_id"] is None
    assert audit["reason_code"] == "wire.bad_magic_byte"
    assert audit["field_actions"] == []
    schemaless_writer(io.BytesIO(), parse_schema(AUDIT_SCHEMA), audit)
    assert json.dumps(audit)


def _audit(offset: int, actions: tuple[tuple[str, str], ...], uncovered: tuple[str, ...]) -> dict[str, object]:
    return anonymization_audit(
        SourcePosition("crm.public.contacts", 0, offset, None),
        PolicyRef("crm-default", 1, "ef" * 32),
        outcome="PUBLISHED",
        operation="c",
        output_topic="anon.crm.public.contacts",
        actions=actions,
        uncovered=uncovered,
    )


def _full(record: dict[str, object]) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(AUDIT_SCHEMA), record)
    return buf.getvalue()


def test_audit_encoder_is_byte_identical_to_a_full_encode() -> None:
    encoder = AuditEncoder()
    plan_a = ((("id", "tokenize(scope=contact,key=k1)"), ("notes", "drop")), ("updated_at",))
    plan_b = ((("id", "tokenize(scope=account,key=k1)"),), ())
    for offset, plan in enumerate([plan_a, plan_b, plan_a, plan_b, plan_a]):
        record = _audit(offset, *plan)
        assert encoder.encode(record, plan) == _full(record)


def test_audit_encoder_round_trips() -> None:
    record = _audit(5, (("email", "tokenize(scope=email,key=k1)"),), ("updated_at",))
    encoded = AuditEncoder().encode(record, ("k",))
    decoded = schemaless_reader(io.BytesIO(encoded), parse_schema(AUDIT_SCHEMA), None)
    assert decoded["field_actions"] == [{"path": "email", "action": "tokenize(scope=email,key=k1)"}]
    assert decoded["uncovered_fields"] == ["updated_at"]
    assert decoded["source_offset"] == 5


def test_audit_encoder_refuses_a_schema_whose_tail_is_not_last() -> None:
    import pytest

    fields = list(AUDIT_SCHEMA["fields"])
    reordered = {**AUDIT_SCHEMA, "fields": [fields[-1], *fields[:-1]]}
    with pytest.raises(ValueError, match="static tail"):
        AuditEncoder(reordered)
