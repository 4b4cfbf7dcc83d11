"""Transforms that carry a policy into nested data: records inside records, array elements, map values.

The policy addresses nested fields by path: ``address.city`` (record field), ``phones[]`` (each array
element), ``attributes{}`` (each map value), and combinations such as ``contacts[].email``. The compiler
builds these from the paths; they are not written in policy files directly. Each still makes one call per
inner field per batch: array elements and map values of all rows are flattened, transformed, and split back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.avro.types import AvroType
from streams.errors import AnonymizationError, ReasonCode
from streams.transforms.base import BatchContext, Transform, wrong_type
from streams.transforms.plan import FieldPlan, apply_plan


class RecordTransform(Transform):
    name = "record"
    accepts = frozenset({"record"})

    def __init__(self, plan: tuple[FieldPlan, ...], output_schema: AvroType) -> None:
        self.plan = plan
        self._output_schema = output_schema

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        return self._output_schema

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        for value in values:
            if not isinstance(value, dict):
                raise wrong_type("record", value, "record")
        out: list[dict[str, Any]] = [{} for _ in values]
        apply_plan(self.plan, values, out, ctx.subject_keys, ctx.states)
        return out


class _ElementwiseTransform(Transform):
    """Applies an element transform to every element of a container, in one call per batch."""

    container: str

    def __init__(self, element: Transform, element_nullable: bool, output_schema: AvroType) -> None:
        self.element = element
        self.element_nullable = element_nullable
        self._output_schema = output_schema
        self.epsilon = element.epsilon
        self.delta = element.delta

    @property
    def label(self) -> str:
        return f"{self.name}({self.element.label})"

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        return self._output_schema

    def _flatten(self, values: Sequence[Any], ctx: BatchContext) -> tuple[list[Any], list[bytes], list[list[int]]]:
        flat: list[Any] = []
        subjects: list[bytes] = []
        slots: list[list[int]] = []
        for i, container in enumerate(values):
            items = self._items(container)
            mine: list[int] = []
            for item in items:
                if item is None:
                    if not self.element_nullable:
                        raise AnonymizationError(ReasonCode.WRONG_TYPE, f"null element in {self.container}")
                    mine.append(-1)
                    continue
                mine.append(len(flat))
                flat.append(item)
                if ctx.subject_keys:
                    subjects.append(ctx.subject_keys[i])
            slots.append(mine)
        return flat, subjects, slots

    def _items(self, container: Any) -> list[Any]:
        raise NotImplementedError

    def _transform_flat(self, values: Sequence[Any], ctx: BatchContext) -> tuple[list[Any], list[list[int]]]:
        flat, subjects, slots = self._flatten(values, ctx)
        states: tuple[dict[str, Any] | None, ...] = ()
        if ctx.states:  # each element belongs to its container's subject
            states = tuple(ctx.states[i] for i, mine in enumerate(slots) for j in mine if j >= 0)
        results = self.element.apply(flat, BatchContext(tuple(subjects), states)) if flat else []
        return results, slots


class ArrayTransform(_ElementwiseTransform):
    name = "array"
    accepts = frozenset({"array"})
    container = "array"

    def _items(self, container: Any) -> list[Any]:
        if not isinstance(container, list):
            raise wrong_type("array", container, "array")
        return container

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        results, slots = self._transform_flat(values, ctx)
        return [[results[j] if j >= 0 else None for j in mine] for mine in slots]


class MapTransform(_ElementwiseTransform):
    """Map values through the element transform, and map keys through ``key_transform`` (keys are data too:
    ``{"ada@example.com": "vip"}``). Keys that collide after their transform fail the record (a merge would
    lose values silently)."""

    name = "map"
    accepts = frozenset({"map"})
    container = "map"

    def __init__(
        self,
        element: Transform,
        element_nullable: bool,
        output_schema: AvroType,
        key_transform: Transform | None = None,
    ) -> None:
        super().__init__(element, element_nullable, output_schema)
        self.key_transform = key_transform

    @property
    def label(self) -> str:
        keys = self.key_transform.label if self.key_transform is not None else "keep"
        return f"{self.name}({self.element.label}; keys {keys})"

    def _items(self, container: Any) -> list[Any]:
        if not isinstance(container, dict):
            raise wrong_type("map", container, "map")
        return list(container.values())

    def _keys(self, values: Sequence[Any], ctx: BatchContext) -> list[list[Any]]:
        per_map = [list(container) for container in values]
        if self.key_transform is None:
            return per_map
        flat = [k for keys in per_map for k in keys]
        subjects = (
            tuple(ctx.subject_keys[i] for i, keys in enumerate(per_map) for _ in keys) if ctx.subject_keys else ()
        )
        done = iter(self.key_transform.apply(flat, BatchContext(subjects)) if flat else [])
        out = [[next(done) for _ in keys] for keys in per_map]
        for keys in out:
            if len(set(keys)) != len(keys):
                raise AnonymizationError(ReasonCode.TRANSFORM_FAILED, "map keys collide after their transform")
        return out

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        results, slots = self._transform_flat(values, ctx)
        keys = self._keys(values, ctx)
        return [
            {k: (results[j] if j >= 0 else None) for k, j in zip(new_keys, mine, strict=True)}
            for new_keys, mine in zip(keys, slots, strict=True)
        ]
