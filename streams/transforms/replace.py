"""``replace``: every non-null value becomes one constant.

Parameters: ``value`` (required): the constant. It must fit the field's Avro type, which is checked when the
policy is compiled against a schema (a ``PolicyError`` names the field otherwise):

- ``string`` fields (and ``enum`` fields, where it must be one of the symbols): a string;
- ``int`` / ``long``: an integer in range (for Connect/Avro date and timestamp encodings, the stored number,
  e.g. days since the epoch for ``io.debezium.time.Date``);
- ``float`` / ``double``: a number; ``boolean``: ``true`` / ``false``;
- ``bytes``: a string, written as its UTF-8 bytes.

The output type is the input type (nulls stay null on nullable fields).

Privacy meaning: nothing of the value is released, but its presence is (null vs. the constant). Use it when a
consumer needs the column filled, e.g. ``country: {transform: replace, value: "XX"}``::

    fields:
      country: {transform: replace, value: "XX"}
      score: {transform: replace, value: 0}
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from streams.avro_types import AvroType, base_name, type_label
from streams.errors import PolicyError
from streams.transforms.base import BatchContext, Transform, wrong_type
from streams.transforms.rule import BuildContext, RuleBase

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


class Replace(Transform):
    name = "replace"
    accepts = frozenset({"boolean", "int", "long", "float", "double", "string", "bytes", "enum"})

    def __init__(self, value: str | bool | int | float) -> None:
        self.value = value
        self._input_type: AvroType | None = None
        self._constant: Any = value

    @property
    def label(self) -> str:
        # The constant is policy configuration, not data; still, only its type goes into labels and audits.
        return f"replace({type(self.value).__name__})"

    def constant_for(self, input_type: AvroType, path: str) -> Any:
        """The constant as the field's Avro type stores it; PolicyError naming the field when it cannot fit."""
        self.check_type(input_type, path)
        base, value = base_name(input_type), self.value
        if avro_logical(input_type) == "decimal":
            raise PolicyError(f"field {path!r}: replace does not support decimal fields; use nullify or redact")
        candidate: Any = value
        if base in ("float", "double") and isinstance(value, int) and not isinstance(value, bool):
            candidate = float(value)
        elif base == "bytes" and isinstance(value, str):
            candidate = value.encode("utf-8")
        if not fits_avro(candidate, input_type):
            raise PolicyError(
                f"field {path!r}: replace value of type {type(value).__name__} does not fit {type_label(input_type)}"
            )
        return candidate

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.constant_for(input_type, path)
        return input_type

    def bind(self, input_type: AvroType) -> Transform:
        bound = Replace(self.value)
        bound._constant = bound.constant_for(input_type, "?")
        bound._input_type = input_type
        return bound

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        check_values("replace", values, self._input_type)
        return [self._constant] * len(values)


class ReplaceRule(RuleBase):
    transform: Literal["replace"]
    # pydantic's smart union keeps the YAML type: ``true`` stays a bool, ``1`` an int, ``"1"`` a string.
    value: bool | int | float | str

    def build(self, ctx: BuildContext) -> Transform:
        return Replace(self.value)
