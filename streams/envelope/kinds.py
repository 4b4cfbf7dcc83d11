"""The names of the envelope kinds, with no imports: the policy model validates ``envelope:`` against them,
and ``registry`` maps each to its implementation (and refuses to load if the two disagree)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

ENVELOPE_KINDS: tuple[str, ...] = ("debezium", "salesforce")

if TYPE_CHECKING:
    EnvelopeKind = str
else:
    EnvelopeKind = Literal[ENVELOPE_KINDS]  # the policy's ``envelope:`` values, derived from the tuple above
