"""CDC envelopes: what surrounds the row images, per connector family."""

from __future__ import annotations

from typing import Any

from streams.envelope.base import EnvelopePlan
from streams.envelope.debezium import CompiledKey, compile_envelope, compile_key
from streams.envelope.salesforce import compile_salesforce, compile_salesforce_key
from streams.keys import KeyRing
from streams.policy.model import SourcePolicy


def compile_source_key(source: SourcePolicy, key_schema: Any, keyring: KeyRing) -> CompiledKey:
    if source.envelope == "salesforce":
        return compile_salesforce_key(source, key_schema, keyring)
    return compile_key(source, key_schema, keyring)


def compile_source_value(source: SourcePolicy, value_schema: Any, keyring: KeyRing) -> EnvelopePlan:
    if source.envelope == "salesforce":
        return compile_salesforce(source, value_schema, keyring)
    return compile_envelope(source, value_schema, keyring)
