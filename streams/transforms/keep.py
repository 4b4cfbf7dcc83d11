"""``keep``: pass the value through unchanged. Privacy meaning: none; use for non-identifying fields only.

Parameters: none. ``keep`` applies to leaves: values without named children (strings, numbers, enums, and
arrays or maps of those). On a record, or an array/map/union that holds a record, it is refused, naming the
leaves: a policy compiles once per writer schema, so ``address: keep`` would also pass ``address.ssn`` the day
a writer adds it, with nothing reported. Naming each leaf (``address.city: keep``) makes a new child an
uncovered field: dropped and reported. Policy example: ``country: keep``, ``tags: keep`` (array of strings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from streams.avro.types import AvroType
from streams.errors import PolicyError
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
        leaves = record_leaves(input_type, path)
        if leaves:
            shown = ", ".join(f"{leaf}: keep" for leaf in leaves[:12]) + (" ..." if len(leaves) > 12 else "")
            raise PolicyError(
                f"field {path!r}: keep on a record would also pass children a later schema adds; "
                f"name its leaves instead ({shown})"
            )
        return input_type

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        return list(values)


class KeepRule(RuleBase):
    """``keep`` (or the shorthand string ``keep``)."""

    transform: Literal["keep"]

    def build(self, ctx: BuildContext) -> Transform:
        return Keep()


def record_leaves(avro_type: AvroType, path: str) -> list[str]:
    """Rule paths of the leaves below ``avro_type`` when it holds a record (``[]`` for array items, ``{}`` for
    map values); ``[]`` when it holds none."""
    if isinstance(avro_type, list):
        return [leaf for branch in avro_type for leaf in record_leaves(branch, path)]
    if not isinstance(avro_type, dict):
        return []
    kind = avro_type.get("type")
    if kind == "record":
        out: list[str] = []
        for fld in avro_type.get("fields", []):
            child = f"{path}.{fld['name']}"
            out.extend(record_leaves(fld["type"], child) or [child])
        return out
    if kind == "array":
        return record_leaves(avro_type.get("items"), f"{path}[]")
    if kind == "map":
        return record_leaves(avro_type.get("values"), f"{path}{{}}")
    return []
