from __future__ import annotations

import random
import re
import struct

import pytest
from fastavro import parse_schema
from fastavro.validation import validate
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.avro import wire
from streams.errors import AnonymizationError, ReasonCode

SCHEMA = parse_schema(
    {
        "type": "record",
        "name": "t.Rec",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "email", "type": "string"},
            {"name": "opt", "type": ["null", "int"], "default": None},
        ],
    }
)
CANARY = "CANARY-WIRE-7f3a@leak.test"
SAFE_DECODE_MESSAGE = re.compile(
    r"avro\.decode_error: "
    r"(body does not match its writer schema \([A-Za-z]+\)|\d+ trailing bytes after the Avro record)"
)


def test_round_trip() -> None:
    record = {"id": 42, "email": CANARY, "opt": None}
    frame = wire.encode(123456, SCHEMA, record)
    assert frame[0] == 0
    assert struct.unpack(">I", frame[1:5])[0] == 123456
    schema_id, body = wire.split_frame(frame)
    assert schema_id == 123456
    assert body == frame[5:]
    assert wire.decode_body(body, SCHEMA) == record


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x00\x01"])
def test_truncated_frame(data: bytes) -> None:
    with pytest.raises(AnonymizationError) as info:
        wire.split_frame(data)
    assert info.value.code is ReasonCode.TRUNCATED_FRAME
    assert str(len(data)) in info.value.detail


def test_header_only_frame_has_empty_body() -> None:
    assert wire.split_frame(b"\x00\x00\x00\x00\x07") == (7, b"")


@pytest.mark.parametrize("magic", [1, 0x7F, 0x80, 0xFF])
def test_bad_magic_byte(magic: int) -> None:
    payload = bytes([magic]) + b"\x00\x00\x00\x01" + CANARY.encode()
    with pytest.raises(AnonymizationError) as info:
        wire.split_frame(payload)
    assert info.value.code is ReasonCode.BAD_MAGIC_BYTE
    assert "CANARY" not in str(info.value)


def test_plain_json_value_is_bad_magic() -> None:
    with pytest.raises(AnonymizationError) as info:
        wire.split_frame(b'{"email": "' + CANARY.encode() + b'"}')
    assert info.value.code is ReasonCode.BAD_MAGIC_BYTE
    assert CANARY not in str(info.value)


def test_garbage_body_is_decode_error() -> None:
    body = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # varint longer than 64 bits
    with pytest.raises(AnonymizationError) as info:
        wire.decode_body(body, SCHEMA)
    assert info.value.code is ReasonCode.AVRO_DECODE_ERROR


def test_short_body_is_decode_error() -> None:
    frame = wire.encode(1, SCHEMA, {"id": 1, "email": CANARY, "opt": 5})
    _, body = wire.split_frame(frame)
    with pytest.raises(AnonymizationError) as info:
        wire.decode_body(body[:-3], SCHEMA)
    assert info.value.code is ReasonCode.AVRO_DECODE_ERROR


def test_trailing_bytes_are_detected() -> None:
    _, body = wire.split_frame(wire.encode(1, SCHEMA, {"id": 1, "email": "a", "opt": None}))
    with pytest.raises(AnonymizationError) as info:
        wire.decode_body(body + CANARY.encode(), SCHEMA)
    assert info.value.code is ReasonCode.AVRO_DECODE_ERROR
    assert f"{len(CANARY)} trailing bytes" in info.value.detail
    assert "CANARY" not in str(info.value)


def test_decode_error_message_carries_no_payload_bytes() -> None:
    # A string length prefix that runs past the end: fastavro would happily quote what it read.
    body = b"\x54" + b"\x40" + CANARY.encode()
    with pytest.raises(AnonymizationError) as info:
        wire.decode_body(body, SCHEMA)
    message = str(info.value)
    assert info.value.code is ReasonCode.AVRO_DECODE_ERROR
    assert "CANARY" not in message
    assert "\\x" not in message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_decode_or_fail_cleanly(body: bytes) -> None:
    try:
        record = wire.decode_body(body, SCHEMA)
    except AnonymizationError as exc:
        assert exc.code is ReasonCode.AVRO_DECODE_ERROR
        # only fixed wording, an exception type name or a byte count: nothing read from the payload
        assert SAFE_DECODE_MESSAGE.fullmatch(str(exc)), str(exc)
    else:
        # whatever decodes is a valid record of the schema (all bytes consumed, no trailing data)
        assert validate(record, SCHEMA, raise_errors=False)


def test_random_bytes_are_mostly_rejected() -> None:
    rejected = 0
    rng = random.Random(20240607)
    for _ in range(200):
        try:
            wire.decode_body(rng.randbytes(40), SCHEMA)
        except AnonymizationError as exc:
            assert exc.code is ReasonCode.AVRO_DECODE_ERROR
            rejected += 1
    assert rejected >= 190


def test_encode_failure_is_encode_error_without_value() -> None:
    with pytest.raises(AnonymizationError) as info:
        wire.encode(1, SCHEMA, {"id": "CANARY-not-a-long", "email": "x", "opt": None})
    assert info.value.code is ReasonCode.ENCODE_FAILED
    assert "CANARY" not in str(info.value)
