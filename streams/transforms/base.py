"""The one interface every transform implements.

A transform is built once from its policy parameters (and keys), checked against the field's Avro type when
a policy is compiled, and then applied to a *batch* of non-null values of one field at a time, so that
transforms with per-call overhead (OpenDP noise) pay it once per batch. Nulls never reach ``apply``: the
core passes them through for nullable fields.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from streams.avro_types import AvroType, base_name, type_label
from streams.errors import AnonymizationError, PolicyError, ReasonCode


@dataclass(frozen=True, slots=True)
class BatchContext:
    """Per-value context aligned with the values of one ``apply`` call.

    ``subject_keys[i]`` identifies the data subject (the source record's key, canonical bytes) of
    ``values[i]``: per-subject transforms (date_shift) and DP release caching use it. Empty when unknown.
    """

    subject_keys: Sequence[bytes] = field(default_factory=tuple)


class Transform(ABC):
    """A privacy transform of one field. Subclasses set ``name`` and implement the two methods."""

    name: ClassVar[str]
    #: The Avro base types this transform accepts (after removing ``null`` from a union).
    accepts: ClassVar[frozenset[str]]
    #: Differential privacy: the epsilon (and delta) one release of one value spends; None when not DP.
    epsilon: float | None = None
    delta: float | None = None
    #: The output field is nullable even when the input field is not (``nullify`` always emits null).
    forces_nullable: ClassVar[bool] = False

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
