"""The one interface every transform implements.

A transform is built once from its policy parameters (and keys), checked against the field's Avro type when
a policy is compiled, and then applied to a *batch* of non-null values of one field at a time, so that
transforms with per-call overhead (OpenDP noise) pay it once per batch. Nulls never reach ``apply``: the
core passes them through for nullable fields.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from streams.avro.types import AvroType, base_name, type_label
from streams.errors import AnonymizationError, PolicyError, ReasonCode


@dataclass(frozen=True, slots=True)
class BatchContext:
    """Per-value context aligned with the values of one ``apply`` call.

    ``subject_keys[i]`` identifies the data subject (the source record's key, canonical bytes) of
    ``values[i]``: per-subject transforms (date_shift) and DP release caching use it. Empty when unknown.
    """

    subject_keys: Sequence[bytes] = field(default_factory=tuple)
    #: The durable DP state of each value's subject (a plain dict the worker persists), or empty.
    states: Sequence[dict[str, Any] | None] = field(default_factory=tuple)
    #: Filled by the transform: positions of values it suppressed, and why (the audit event names them).
    notes: list[tuple[int, str]] = field(default_factory=list)


class Transform(ABC):
    """A privacy transform of one field. Subclasses set ``name`` and implement the two methods."""

    name: ClassVar[str]
    #: The Avro base types this transform accepts (after removing ``null`` from a union).
    accepts: ClassVar[frozenset[str]]
    #: Differential privacy: the epsilon (and delta) one release of one value spends; None when not DP.
    epsilon: float | None = None
    delta: float | None = None
    #: The output field is nullable even when the input field is not (``nullify`` always emits null; a DP
    #: field with a budget emits null once the budget is spent).
    forces_nullable: bool = False

    def check_type(self, input_type: AvroType, path: str) -> None:
        if base_name(input_type) not in self.accepts:
            raise PolicyError(
                f"field {path!r}: transform {self.name!r} does not fit type {type_label(input_type)}"
                f" (accepts {', '.join(sorted(self.accepts))})"
            )

    @abstractmethod
    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        """Avro type of the output for a non-null input type; raises PolicyError when the type does not fit."""

    def bind(self, input_type: AvroType) -> Transform:
        """The instance to use for a field of this type (transforms that depend on the type override this)."""
        return self

    @abstractmethod
    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        """Transform non-null values of one field; same length and order out as in."""

    @property
    def label(self) -> str:
        """What the audit trail and output schema docs record: the transform and its non-secret parameters."""
        return self.name


def wrong_type(transform: str, value: object, expected: str) -> AnonymizationError:
    # Only the type name goes into the message: the value itself must never be logged.
    return AnonymizationError(ReasonCode.WRONG_TYPE, f"{transform} expected {expected}, got {type(value).__name__}")


# -- value checks against Avro types, shared by the transforms that write values of the field's type --

INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)

_LOGICAL_PYTHON: dict[str, tuple[type, ...]] = {
    # What fastavro decodes Avro logical types into (the stored number is accepted too).
    "date": (dt.date,),
    "time-millis": (dt.time,),
    "time-micros": (dt.time,),
    "timestamp-millis": (dt.datetime,),
    "timestamp-micros": (dt.datetime,),
    "timestamp-nanos": (dt.datetime,),
    "local-timestamp-millis": (dt.datetime,),
    "local-timestamp-micros": (dt.datetime,),
    "local-timestamp-nanos": (dt.datetime,),
    "decimal": (decimal.Decimal,),
    "uuid": (uuid.UUID,),
}


def avro_logical(avro_type: AvroType) -> str | None:
    """The Avro ``logicalType`` only (not Connect semantic names, whose values stay plain)."""
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        return str(logical) if logical else None
    return None


def fits_avro(value: object, avro_type: AvroType) -> bool:
    """Whether a Python value is one fastavro can read or write for this (non-union) Avro type."""
    logical = avro_logical(avro_type)
    if logical in _LOGICAL_PYTHON and isinstance(value, _LOGICAL_PYTHON[logical]):
        return True
    base = base_name(avro_type)
    if base == "null":
        return value is None
    if base == "boolean":
        return isinstance(value, bool)
    if base in ("int", "long"):
        low, high = INT_RANGE if base == "int" else LONG_RANGE
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if base in ("float", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base == "string":
        return isinstance(value, str)
    if base == "bytes":
        return isinstance(value, bytes | bytearray)
    if base == "fixed":
        return isinstance(value, bytes | bytearray) and len(value) == int(avro_type.get("size", -1))
    if base == "enum":
        return isinstance(value, str) and value in avro_type.get("symbols", ())
    if base in ("record", "map"):
        return isinstance(value, dict)
    if base == "array":
        return isinstance(value, list | tuple)
    return False


def check_values(transform: str, values: Sequence[Any], avro_type: AvroType | None) -> None:
    """Raise WRONG_TYPE (type names only) when a value does not fit the bound type; no-op when unbound."""
    if avro_type is None:
        return
    for value in values:
        if not fits_avro(value, avro_type):
            raise wrong_type(transform, value, type_label(avro_type))
