"""Reason codes and the one exception type the core raises.

Messages built here must never contain an input value: only field paths, type names and codes.
The dead-letter event and the logs carry exactly these messages.
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    """Why an event went to the dead-letter topic. Stable strings: downstream alerting keys on them."""

    TRUNCATED_FRAME = "wire.truncated_frame"
    BAD_MAGIC_BYTE = "wire.bad_magic_byte"
    UNKNOWN_SCHEMA_ID = "registry.unknown_schema_id"
    REGISTRY_UNAVAILABLE = "registry.unavailable"
    AVRO_DECODE_ERROR = "avro.decode_error"
    NULL_KEY = "envelope.null_key"
    UNSUPPORTED_ENVELOPE = "envelope.unsupported"
    NO_POLICY_FOR_SOURCE = "policy.no_source"
    POLICY_SCHEMA_MISMATCH = "policy.schema_mismatch"
    OUTPUT_SCHEMA_REJECTED = "registry.output_schema_rejected"
    TRANSFORM_FAILED = "transform.failed"
    WRONG_TYPE = "transform.wrong_type"
    ENCODE_FAILED = "avro.encode_error"
    DELIVERY_FAILED = "kafka.delivery_refused"


class AnonymizationError(Exception):
    """An event cannot be anonymized. ``detail`` names fields and types, never values."""

    def __init__(self, code: ReasonCode, detail: str, *, field: str | None = None) -> None:
        self.code = code
        self.detail = detail
        self.field = field
        super().__init__(f"{code}: {detail}" + (f" (field {field})" if field else ""))


class PolicyError(ValueError):
    """A policy file is invalid or does not fit a schema. Names the file, source and field path."""
