"""What the core needs from an envelope kind (Debezium, Salesforce): where the row images are in an event,
and how to put the anonymized images back together with the envelope's own (already policed) fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from streams.policy.compiler import CompiledRecord
from streams.policy.plan import Row


class EnvelopePlan(Protocol):
    """A compiled envelope: one row plan shared by every image of an event, plus envelope handling."""

    @property
    def row(self) -> CompiledRecord: ...

    @property
    def output_schema(self) -> dict[str, Any]: ...

    @property
    def actions(self) -> tuple[tuple[str, str], ...]: ...

    @property
    def uncovered(self) -> tuple[str, ...]: ...

    @property
    def epsilon(self) -> tuple[tuple[str, float], ...]: ...

    @property
    def output_types(self) -> tuple[tuple[str, str, str], ...]: ...

    def images(self, value: Mapping[str, Any]) -> list[tuple[str, Row]]:
        """The row images of one event, by slot name (``before``, ``after``, ...), in a stable order."""

    def subject(self, key: Mapping[str, Any] | None, value: Mapping[str, Any]) -> bytes:
        """Canonical bytes of the data subject of this event (what per-subject transforms key on)."""

    def assemble(self, value: Mapping[str, Any], images: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        """The output value: anonymized images in their slots, envelope fields handled by the envelope."""

    def operation(self, value: Mapping[str, Any]) -> str:
        """The change operation, for the audit trail."""
