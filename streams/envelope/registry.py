"""Envelope implementations by the name a policy gives them (``envelope: debezium``)."""

from __future__ import annotations

from typing import Any

from streams.envelope import debezium, salesforce
from streams.envelope.base import CompiledKey, Envelope, EnvelopePlan
from streams.envelope.kinds import ENVELOPE_KINDS
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.model import SourcePolicy

ENVELOPES: dict[str, Envelope] = {e.kind: e for e in (debezium.ENVELOPE, salesforce.ENVELOPE)}
if tuple(ENVELOPES) != ENVELOPE_KINDS:  # an envelope added here but not named in kinds, or the reverse
    raise ImportError(f"envelope registry {tuple(ENVELOPES)} and kinds {ENVELOPE_KINDS} disagree")


def envelope_for(kind: str) -> Envelope:
    envelope = ENVELOPES.get(kind)
    if envelope is None:
        raise PolicyError(f"envelope {kind!r} is not one of {', '.join(sorted(ENVELOPES))}")
    return envelope


def compile_source_key(source: SourcePolicy, key_schema: Any, keyring: KeyRing) -> CompiledKey:
    return envelope_for(source.envelope).compile_key(source, key_schema, keyring)


def compile_source_value(source: SourcePolicy, value_schema: Any, keyring: KeyRing) -> EnvelopePlan:
    return envelope_for(source.envelope).compile_value(source, value_schema, keyring)
