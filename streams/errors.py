"""Reason codes and the one error root every domain error derives from.

The contract of :class:`CrmAnonymizerError`: its message never contains an input value, a key or a secret;
only field paths, type names, ids and codes. That is why the worker logs the message of any such error and
only the type of anything else (a third-party exception may quote a payload).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


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
    RECORD_TOO_LARGE = "kafka.record_too_large"
    PROCESSOR_CRASHED = "processor.crashed"
    INTERNAL_ERROR = "processor.internal_error"


class CrmAnonymizerError(Exception):
    """Root of this project's errors. The message holds no input value, key or secret (safe to log)."""


class AnonymizationError(CrmAnonymizerError):
    """An event cannot be anonymized. ``detail`` names fields and types, never values."""

    def __init__(self, code: ReasonCode, detail: str, *, field: str | None = None) -> None:
        self.code = code
        self.detail = detail
        self.field = field
        super().__init__(f"{code}: {detail}" + (f" (field {field})" if field else ""))

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross the process boundary (the offloaded pipeline): rebuild from the fields, not the message.
        return (_rebuild_anonymization_error, (type(self), self.code, self.detail, self.field))


def _rebuild_anonymization_error(
    cls: type[AnonymizationError], code: ReasonCode, detail: str, field: str | None
) -> AnonymizationError:
    return cls(code, detail, field=field)


class PolicyError(CrmAnonymizerError, ValueError):
    """A policy file is invalid or does not fit a schema. Names the file, source and field path."""


class ConfigError(CrmAnonymizerError, ValueError):
    """A setting is missing or malformed (a key, an address). Names the setting, never its value."""


class UnknownKeyError(CrmAnonymizerError, KeyError):
    """A key id the policy asks for is not configured. Names the id and purpose, never key material."""


class RegistryError(CrmAnonymizerError):
    """The schema registry answered with an error; status and error code only (translated at the edge)."""

    def __init__(self, what: str, http_status: int | None, error_code: int | None) -> None:
        self.what = what
        self.http_status = http_status
        self.error_code = error_code
        super().__init__(f"{what}: registry error (HTTP {http_status}, code {error_code})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.what, self.http_status, self.error_code))

    @property
    def not_found(self) -> bool:
        """A definitive "no such subject/version/schema" (Confluent error codes 40401-40403)."""
        return self.error_code in (40401, 40402, 40403) or self.http_status == 404


class ProcessorError(CrmAnonymizerError, RuntimeError):
    """A failure inside the offloaded child that is not one of ours, rebuilt in the parent by type name only
    (a third-party exception may quote a payload, and some, like ``KafkaException``, do not pickle)."""


def portable(exc: BaseException) -> CrmAnonymizerError:
    """``exc`` as an error that survives pickling across the process boundary and holds no input value."""
    import pickle

    if isinstance(exc, CrmAnonymizerError):
        try:
            pickle.loads(pickle.dumps(exc))  # noqa: S301 (our own bytes, a round trip)
            return exc
        except Exception:
            return ProcessorError(f"{type(exc).__name__}: {str(exc)[:200]}")
    return ProcessorError(f"{type(exc).__name__} in the pipeline process")


class KafkaAdminError(CrmAnonymizerError, RuntimeError):
    """A topic could not be created or deleted; names the topic and the broker's error name."""


class ConnectError(CrmAnonymizerError, RuntimeError):
    """The broker or the registry refused the connection for a reason retrying will not fix (credentials,
    certificates), or (``transient``) did not answer. Names the address and the kind of failure, never a
    secret."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_connect_error, (str(self), self.transient))


def _rebuild_connect_error(message: str, transient: bool) -> ConnectError:
    return ConnectError(message, transient=transient)
