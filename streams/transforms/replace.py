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

from collections.abc import Sequence
from typing import Any, Literal

from streams.avro.types import AvroType, base_name, type_label
from streams.errors import PolicyError
from streams.transforms.base import BatchContext, Transform, avro_logical, check_values, fits_avro
from streams.transforms.rule import BuildContext, RuleBase


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
