"""``redact``: every non-null value becomes a fixed placeholder of the field's own type.

Parameters: ``placeholder`` (strings only, default ``[REDACTED]``). Other types get a fixed placeholder:
``int``/``long`` 0, ``float``/``double`` 0.0, ``boolean`` false, ``bytes`` empty, ``fixed`` all zero bytes.
The output type is the input type. Fields with a logical type or Connect semantic type (dates, timestamps,
decimals, UUIDs, Debezium enums, ...) are refused when the policy is compiled: a placeholder such as the
epoch would read as a real value there; use ``nullify``, ``generalize`` or ``date_shift`` for them.

Privacy meaning: nothing of the value is released except whether it was present (null stays null). Unlike
``nullify`` the column stays non-null, for consumers that cannot handle nulls::

    fields:
      notes: redact                                   # -> "[REDACTED]"
      ssn: {transform: redact, placeholder: "***"}
      credit_limit: redact                            # -> 0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from streams.avro.types import AvroType, base_name, logical_name, type_label
from streams.errors import PolicyError
from streams.transforms.base import BatchContext, Transform, check_values
from streams.transforms.rule import BuildContext, RuleBase

DEFAULT_PLACEHOLDER = "[REDACTED]"
_FIXED_PLACEHOLDERS: dict[str, Any] = {
    "int": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "boolean": False,
    "bytes": b"",
}


class Redact(Transform):
    name = "redact"
    accepts = frozenset({"string", "int", "long", "float", "double", "boolean", "bytes", "fixed"})

    def __init__(self, placeholder: str = DEFAULT_PLACEHOLDER) -> None:
        self.placeholder = placeholder
        self._input_type: AvroType | None = None
        self._value: Any = placeholder

    def placeholder_for(self, input_type: AvroType, path: str) -> Any:
        self.check_type(input_type, path)
        if logical_name(input_type):
            raise PolicyError(
                f"field {path!r}: redact does not fit {type_label(input_type)} (a placeholder would read as a"
                " real value); use nullify, generalize or date_shift"
            )
        base = base_name(input_type)
        if base == "string":
            return self.placeholder
        if base == "fixed":
            return bytes(int(input_type["size"]))
        return _FIXED_PLACEHOLDERS[base]

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.placeholder_for(input_type, path)
        return input_type

    def bind(self, input_type: AvroType) -> Transform:
        bound = Redact(self.placeholder)
        bound._value = bound.placeholder_for(input_type, "?")
        bound._input_type = input_type
        return bound

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        check_values("redact", values, self._input_type)
        return [self._value] * len(values)


class RedactRule(RuleBase):
    """``redact`` (or the shorthand string ``redact``)."""

    transform: Literal["redact"]
    placeholder: str = Field(DEFAULT_PLACEHOLDER, max_length=64)

    def build(self, ctx: BuildContext) -> Transform:
        return Redact(self.placeholder)
