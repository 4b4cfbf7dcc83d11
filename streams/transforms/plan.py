"""A compiled field plan and how to run it over a batch of rows. Shared by the core and by the nested
transforms (records inside records, arrays, maps), which run sub-plans the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streams.errors import AnonymizationError, ReasonCode
from streams.transforms.base import BatchContext, Transform

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One output field: where it comes from and what is done to its non-null values."""

    name: str
    transform: Transform
    nullable: bool


def apply_plan(
    plan: Sequence[FieldPlan],
    rows: Sequence[Row],
    out: list[dict[str, Any]],
    subjects: Sequence[bytes] = (),
    states: Sequence[dict[str, Any] | None] = (),
    notes: list[tuple[int, str, str]] | None = None,
) -> None:
    """Fill ``out[i]`` with the planned fields of ``rows[i]``; one transform call per field for all rows.

    ``subjects`` and ``states`` are aligned with ``rows`` (or empty); ``notes`` collects (row index, field,
    reason) for values a transform suppressed (a spent DP budget).
    """
    for field_plan in plan:
        name = field_plan.name
        positions: list[int] = []
        values: list[Any] = []
        for i, row in enumerate(rows):
            value = row.get(name)
            if value is None:
                if not field_plan.nullable:
                    raise AnonymizationError(ReasonCode.WRONG_TYPE, "required field is null", field=name)
                out[i][name] = None
            else:
                positions.append(i)
                values.append(value)
        if not values:
            continue
        try:
            ctx = BatchContext(
                tuple(subjects[i] for i in positions) if subjects else (),
                tuple(states[i] for i in positions) if states else (),
            )
            results = field_plan.transform.apply(values, ctx)
        except AnonymizationError as exc:
            exc.field = f"{name}.{exc.field}" if exc.field else name
            raise
        except Exception as exc:  # a transform bug must not leak the value through its message
            raise AnonymizationError(
                ReasonCode.TRANSFORM_FAILED, f"{field_plan.transform.name} raised {type(exc).__name__}", field=name
            ) from None
        for i, result in zip(positions, results, strict=True):
            out[i][name] = result
        if notes is not None:
            notes.extend((positions[k], name, reason) for k, reason in ctx.notes)
