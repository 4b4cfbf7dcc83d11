"""What every envelope kind (Debezium, Salesforce) provides, and the key plan they share.

An :class:`Envelope` compiles a source's key and value writer schemas into plans; an :class:`EnvelopePlan`
tells the core where the row images are in an event and how to put the anonymized images back together
with the envelope's own (already policed) fields. The Kafka key is a plain record for every kind, so its
plan (:func:`compile_key`) and the data subject derived from it (:func:`subject_key`) live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.avro.types import AvroType, dedupe_named, expand
from streams.envelope.metadata import MetaAction
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.compiler import CompiledRecord, anonymized_name, compile_record, record_of
from streams.policy.model import SourcePolicy
from streams.transforms.plan import Row


def subject_key(key: Mapping[str, Any] | None) -> bytes:
    """Canonical bytes of a record key: the data subject per-subject transforms key on."""
    if key is None:
        return b""
    return repr(sorted(key.items())).encode()


@dataclass(frozen=True, slots=True)
class CompiledKey:
    record: CompiledRecord
    output_schema: dict[str, Any]  # writable (deduplicated) Avro schema of the output key

    @property
    def uncovered(self) -> tuple[str, ...]:
        return self.record.uncovered


def compile_key(source: SourcePolicy, key_schema: AvroType, keyring: KeyRing) -> CompiledKey:
    """The key plan: ``source.key`` rules, falling back to the row rule of a field with the same name."""
    expanded = expand(key_schema)
    record = record_of(expanded, f"source {source.name!r} key schema")
    compiled = compile_record(
        record,
        source.key,
        keyring,
        output_name=anonymized_name(str(record["name"])),
        path_prefix="key.",
        fallback_rules=source.fields,
    )
    if not compiled.plan:
        raise PolicyError(f"source {source.name!r}: no key field is covered; the output key would be empty")
    return CompiledKey(record=compiled, output_schema=dedupe_named(compiled.output_schema, set()))


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

    @property
    def metadata(self) -> tuple[tuple[str, MetaAction], ...]:
        """Every envelope metadata field of the writer schema (policy path) with what the policy does to it."""

    @property
    def kafka_timestamp(self) -> MetaAction:
        """What happens to the output record's timestamp."""

    def images(self, value: Mapping[str, Any]) -> list[tuple[str, Row]]:
        """The row images of one event, by slot name (``before``, ``after``, ...), in a stable order."""

    def subject(self, key: Mapping[str, Any] | None, value: Mapping[str, Any]) -> bytes:
        """Canonical bytes of the data subject of this event (what per-subject transforms key on)."""

    def assemble(self, value: Mapping[str, Any], images: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        """The output value: anonymized images in their slots, envelope fields handled by the envelope."""

    def operation(self, value: Mapping[str, Any]) -> str:
        """The change operation, for the audit trail."""


class Envelope(Protocol):
    """One envelope kind: compiles a source's key and value writer schemas (once per schema id)."""

    @property
    def kind(self) -> str:
        """The policy's ``envelope:`` value."""

    def compile_key(self, source: SourcePolicy, key_schema: AvroType, keyring: KeyRing) -> CompiledKey: ...

    def compile_value(self, source: SourcePolicy, value_schema: AvroType, keyring: KeyRing) -> EnvelopePlan: ...
