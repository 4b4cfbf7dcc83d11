"""``truncate``: keep the first ``length`` characters of a string.

Parameters: ``length`` (required, >= 1: characters kept, counted as Unicode code points) and ``suffix``
(default empty), appended only when characters were removed, e.g. ``"…"``. Strings no longer than ``length``
pass through unchanged. Plain ``string`` fields only: strings with a logical or Connect semantic type (UUIDs,
ISO timestamps, Debezium JSON, ...) are refused when the policy is compiled, since a prefix of them is not a
valid value (``generalize`` handles dates).

Privacy meaning: weak, like ``mask``: the prefix is released as is, short values are released whole, and a
suffix reveals that the value was longer than ``length``. Use it for free text whose opening is useful and
whose identifying detail tends to come later, or for display names::

    fields:
      company: {transform: truncate, length: 3, suffix: "…"}     # "Analytical Engines" -> "Ana…"
      notes: {transform: truncate, length: 40}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from streams.avro.types import AvroType, logical_name, type_label
from streams.errors import PolicyError
from streams.transforms.base import BatchContext, Transform, wrong_type
from streams.transforms.rule import BuildContext, RuleBase


class Truncate(Transform):
    name = "truncate"
    accepts = frozenset({"string"})

    def __init__(self, length: int, suffix: str = "") -> None:
        if length < 1:
            raise ValueError("truncate length must be at least 1")
        self.length = length
        self.suffix = suffix

    @property
    def label(self) -> str:
        return f"truncate(length={self.length})"

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        if logical_name(input_type):
            raise PolicyError(
                f"field {path!r}: truncate needs a plain string, got {type_label(input_type)} (a prefix of it"
                " would not be a valid value)"
            )
        return "string"

    def truncate(self, value: object) -> str:
        if not isinstance(value, str):
            raise wrong_type("truncate", value, "string")
        if len(value) <= self.length:
            return value
        return value[: self.length] + self.suffix

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        return [self.truncate(v) for v in values]


class TruncateRule(RuleBase):
    transform: Literal["truncate"]
    length: int = Field(ge=1, le=1_000_000)
    suffix: str = Field("", max_length=16)

    def build(self, ctx: BuildContext) -> Transform:
        return Truncate(self.length, self.suffix)
