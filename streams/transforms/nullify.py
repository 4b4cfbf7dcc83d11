"""``nullify``: the field stays in the output schema but is always null.

No parameters. The output type is the input type made nullable (``["null", T]`` with default null), even when
the input field is required: consumers keep the column and its type (so a later policy that releases the field
again is a compatible schema change), and every value is null. A dedicated ``"null"`` output type would be
awkward for consumers and incompatible with such a change.

Privacy meaning: nothing of the value is released, not even whether it was present (null and non-null inputs
look alike). Prefer ``drop`` unless consumers need the column to exist::

    fields:
      national_id: nullify          # shorthand for {transform: nullify}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from streams.avro.types import AvroType
from streams.transforms.base import BatchContext, Transform, check_values
from streams.transforms.keep import Keep
from streams.transforms.rule import BuildContext, RuleBase


class Nullify(Transform):
    name = "nullify"
    accepts = Keep.accepts
    forces_nullable = True

    def __init__(self) -> None:
        self._input_type: AvroType | None = None

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        return input_type  # the compiler makes it nullable (forces_nullable)

    def bind(self, input_type: AvroType) -> Transform:
        bound = Nullify()
        bound._input_type = input_type
        return bound

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        # A value of the wrong type means the data does not match its schema: report it rather than hide it.
        check_values("nullify", values, self._input_type)
        return [None] * len(values)


class NullifyRule(RuleBase):
    """``nullify`` (or the shorthand string ``nullify``)."""

    transform: Literal["nullify"]

    def build(self, ctx: BuildContext) -> Transform:
        return Nullify()
