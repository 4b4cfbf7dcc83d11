"""``keep``: pass the value through unchanged. Privacy meaning: none; use for non-identifying fields only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from streams.avro.types import AvroType
from streams.transforms.base import BatchContext, Transform
from streams.transforms.rule import BuildContext, RuleBase


class Keep(Transform):
    name = "keep"
    accepts = frozenset(
        {
            "boolean",
            "int",
            "long",
            "float",
            "double",
            "bytes",
            "string",
            "enum",
            "fixed",
            "record",
            "array",
            "map",
        }
    )

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        return input_type

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        return list(values)


class KeepRule(RuleBase):
    """``keep`` (or the shorthand string ``keep``)."""

    transform: Literal["keep"]

    def build(self, ctx: BuildContext) -> Transform:
        return Keep()
