from __future__ import annotations

import io
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.audit import PolicyRef, SourcePosition
from streams.deadletter import DEAD_LETTER_SCHEMA, NONCE_BYTES, DeadLetterSealer
from streams.errors import AnonymizationError, ReasonCode

from .support import DEAD_LETTER_KEY, DEAD_LETTER_KEY_ID, OTHER_KEY

POSITION = SourcePosition("crm.public.contacts", 2, 1234, 1_760_000_000_000)
RAW_KEY = b"\x00\x00\x00\x00\x01" + b"CANARY-KEY-7f3a"
RAW_VALUE = b"\x00\x00\x00\x00\x02" + "CANARY-VALUE-7f3a ada@example.com Zoë".encode()
RAW_HEADERS = [("trace", b"CANARY-HEADER-7f3a"), ("bin", b"\xff\x00")]
POLICY = PolicyRef("crm-default", 1, "ab" * 32)


def sealer(key: bytes = DEAD_LETTER_KEY) -> DeadLetterSealer:
    return DeadLetterSealer(key, DEAD_LETTER_KEY_ID)


def make_record(s: DeadLetterSealer, error: AnonymizationError | None = None) -> dict[str, Any]:
    return s.record(
        POSITION,
        error or AnonymizationError(ReasonCode.WRONG_TYPE, "mask expected string, got int", field="first_name"),
        raw_key=RAW_KEY,
        raw_value=RAW_VALUE,
        raw_headers=RAW_HEADERS,
        schema_ids=(1, 2),
        policy=POLICY,
    )


def test_encrypted_fields_round_trip_with_the_right_position() -> None:
    s = sealer()
    record = make_record(s)
    assert s.open(record["encrypted_key"], POSITION, "key") == RAW_KEY
    assert s.open(record["encrypted_value"], POSITION, "value") == RAW_VALUE
    headers = json.loads(s.open(record["encrypted_headers"], POSITION, "headers"))
    assert [(k, bytes.fromhex(v)) for k, v in headers] == RAW_HEADERS


def test_a_fresh_sealer_with_the_same_key_can_open() -> None:
    record = make_record(sealer())
    assert sealer().open(record["encrypted_value"], POSITION, "value") == RAW_VALUE


@pytest.mark.parametrize(
    "position",
    [
        SourcePosition("crm.public.contacts", 2, 1235, 1_760_000_000_000),
        SourcePosition("crm.public.contacts", 1, 1234, 1_760_000_000_000),
        SourcePosition("crmdb.crm.accounts", 2, 1234, 1_760_000_000_000),
    ],
)
def test_wrong_position_fails(position: SourcePosition) -> None:
    s = sealer()
    record = make_record(s)
    with pytest.raises(InvalidTag):
        s.open(record["encrypted_value"], position, "value")


def test_ciphertext_cannot_move_between_parts() -> None:
    s = sealer()
    record = make_record(s)
    with pytest.raises(InvalidTag):
        s.open(record["encrypted_value"], POSITION, "key")


def test_wrong_key_fails() -> None:
    record = make_record(sealer())
    with pytest.raises(InvalidTag):
        sealer(OTHER_KEY).open(record["encrypted_value"], POSITION, "value")


def test_tampered_ciphertext_fails() -> None:
    s = sealer()
    sealed = bytearray(make_record(s)["encrypted_value"])
    sealed[-1] ^= 1
    with pytest.raises(InvalidTag):
        s.open(bytes(sealed), POSITION, "value")


def test_nonces_are_fresh() -> None:
    s = sealer()
    a, b = make_record(s), make_record(s)
    assert a["encrypted_value"][:NONCE_BYTES] != b["encrypted_value"][:NONCE_BYTES]
    assert a["encrypted_value"] != b["encrypted_value"]
    assert a["event_id"] != b["event_id"]
    assert len(a["encrypted_value"]) == NONCE_BYTES + len(RAW_VALUE) + 16


def test_readable_fields_hold_no_raw_data() -> None:
    record = make_record(sealer())
    readable = {k: v for k, v in record.items() if not k.startswith("encrypted_")}
    text = json.dumps(readable, default=str)
    assert "CANARY" not in text
    assert "ada@example.com" not in text
    for sealed in (record["encrypted_key"], record["encrypted_value"], record["encrypted_headers"]):
        assert b"CANARY" not in sealed
    assert readable["reason_code"] == "transform.wrong_type"
    assert readable["field"] == "first_name"
    assert readable["encryption_key_id"] == DEAD_LETTER_KEY_ID
    assert DEAD_LETTER_KEY.hex() not in text
    assert (readable["source_topic"], readable["source_partition"], readable["source_offset"]) == (
        "crm.public.contacts",
        2,
        1234,
    )
    assert (readable["key_schema_id"], readable["value_schema_id"]) == (1, 2)
    assert readable["policy_hash"] == POLICY.content_hash


def test_record_encodes_with_the_dead_letter_schema() -> None:
    record = make_record(sealer())
    parsed = parse_schema(DEAD_LETTER_SCHEMA)
    buf = io.BytesIO()
    schemaless_writer(buf, parsed, record)
    assert b"CANARY" not in buf.getvalue()
    buf.seek(0)
    decoded = schemaless_reader(buf, parsed, None)
    assert decoded["encrypted_value"] == record["encrypted_value"]
    assert decoded["reason_code"] == record["reason_code"]


def test_missing_parts_stay_null() -> None:
    s = sealer()
    record = s.record(
        POSITION,
        AnonymizationError(ReasonCode.NULL_KEY, "record has neither key nor value"),
        raw_key=None,
        raw_value=None,
        raw_headers=[],
    )
    assert record["encrypted_key"] is None
    assert record["encrypted_value"] is None
    assert record["encrypted_headers"] is None
    assert record["policy_id"] is None
