"""Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body."""

from __future__ import annotations

import io
import struct
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from streams.errors import AnonymizationError, ReasonCode

MAGIC = 0
HEADER = struct.Struct(">bI")
# Registries hand out ids as signed 32-bit integers (Java int), and so do the audit and dead-letter schemas:
# a frame whose id is beyond that range cannot name a registered schema.
MAX_SCHEMA_ID = 2**31 - 1


def split_frame(data: bytes) -> tuple[int, bytes]:
    """Schema id and body; errors carry sizes only, never bytes of the payload."""
    if len(data) < HEADER.size:
        raise AnonymizationError(ReasonCode.TRUNCATED_FRAME, f"payload of {len(data)} bytes is shorter than the header")
    if data[0] != MAGIC:
        raise AnonymizationError(ReasonCode.BAD_MAGIC_BYTE, "first byte is not the Confluent magic byte 0")
    _, schema_id = HEADER.unpack_from(data)
    if schema_id > MAX_SCHEMA_ID:
        raise AnonymizationError(ReasonCode.UNKNOWN_SCHEMA_ID, "schema id is beyond the registry's 32-bit range")
    return schema_id, data[HEADER.size :]


def decode_body(body: bytes, parsed_schema: Any) -> Any:
    stream = io.BytesIO(body)
    try:
        record = schemaless_reader(stream, parsed_schema, None)
    except Exception as exc:  # fastavro messages can quote data; only the exception type is kept
        raise AnonymizationError(
            ReasonCode.AVRO_DECODE_ERROR, f"body does not match its writer schema ({type(exc).__name__})"
        ) from None
    if stream.tell() != len(body):
        raise AnonymizationError(
            ReasonCode.AVRO_DECODE_ERROR, f"{len(body) - stream.tell()} trailing bytes after the Avro record"
        )
    return record


def encode(schema_id: int, parsed_schema: Any, record: Any) -> bytes:
    out = io.BytesIO()
    out.write(HEADER.pack(MAGIC, schema_id))
    try:
        schemaless_writer(out, parsed_schema, record)
    except Exception as exc:
        raise AnonymizationError(
            ReasonCode.ENCODE_FAILED, f"output does not match the derived schema ({type(exc).__name__})"
        ) from None
    return out.getvalue()
