"""Debezium envelopes: ``before``/``after`` row images, ``source``, ``op``, timestamps, ``transaction``.

What is kept: ``op``, ``ts_ms``/``ts_us``/``ts_ns`` and ``transaction`` pass through; the row images go
through the policy (the same plan for ``before`` and ``after``, so the same value gives the same token); the
``source`` block keeps only positional/technical fields downstream consumers need (see SOURCE_KEEP). Fields
such as MySQL's ``query`` (raw SQL text, which can hold personal data) are dropped. Anything else in the
envelope that this module does not know is dropped and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.avro.types import AvroType, dedupe_named, expand
from streams.envelope.base import CompiledKey, compile_key, subject_key
from streams.envelope.validate import debezium_op
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.compiler import CompiledRecord, anonymized_name, compile_record, record_of
from streams.policy.model import SourcePolicy
from streams.transforms.plan import Row

ROW_IMAGES = ("before", "after")


ENVELOPE_PASSTHROUGH = ("op", "ts_ms", "ts_us", "ts_ns", "transaction")
# Source block fields that locate an event without identifying a person.
SOURCE_KEEP = frozenset(
    {
        "version",
        "connector",
        "name",
        "ts_ms",
        "ts_us",
        "ts_ns",
        "snapshot",
        "db",
        "sequence",
        "schema",
        "table",
        "txId",
        "lsn",
        "xmin",
        "server_id",
        "gtid",
        "file",
        "pos",
        "row",
        "thread",
        "collection",
        "ord",
        "rs",
        "h",
        "tord",
        "stxnid",
        "scn",
        "commit_scn",
        "change_lsn",
        "commit_lsn",
        "event_serial_no",
    }
)


@dataclass(frozen=True, slots=True)
class CompiledEnvelope:
    row: CompiledRecord
    source_fields: tuple[str, ...]  # kept fields of the source block
    passthrough: tuple[str, ...]  # envelope fields passed through unchanged
    output_schema: dict[str, Any]  # writable Avro schema of the output value
    actions: tuple[tuple[str, str], ...]
    uncovered: tuple[str, ...]

    @property
    def output_types(self) -> tuple[tuple[str, str, str], ...]:
        return self.row.output_types

    @property
    def epsilon(self) -> tuple[tuple[str, float], ...]:
        return self.row.epsilon

    def images(self, value: Mapping[str, Any]) -> list[tuple[str, Row]]:
        return [(slot, row) for slot in ROW_IMAGES if (row := value.get(slot)) is not None]

    def subject(self, key: Mapping[str, Any] | None, value: Mapping[str, Any]) -> bytes:
        return subject_key(key)

    def assemble(self, value: Mapping[str, Any], images: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"before": images.get("before"), "after": images.get("after")}
        source = value.get("source")
        if source is not None:
            out["source"] = {name: source.get(name) for name in self.source_fields}
        for name in self.passthrough:
            out[name] = value.get(name)
        if "op" in out:
            out["op"] = debezium_op(out["op"])
        return out

    def operation(self, value: Mapping[str, Any]) -> str:
        return debezium_op(value.get("op"))


def compile_envelope(source: SourcePolicy, value_schema: AvroType, keyring: KeyRing) -> CompiledEnvelope:
    expanded = expand(value_schema)
    envelope = record_of(expanded, f"source {source.name!r} value schema")
    by_name = {str(f["name"]): f for f in envelope["fields"]}
    if not all(name in by_name for name in (*ROW_IMAGES, "op")):
        raise PolicyError(f"source {source.name!r}: value schema is not a Debezium envelope (before/after/op)")
    row_schema = record_of(by_name["after"]["type"], f"source {source.name!r} after")
    row = compile_record(
        row_schema,
        source.fields,
        keyring,
        output_name=anonymized_name(str(row_schema["name"])),
        default=source.default,
    )
    row_type: dict[str, Any] = row.output_schema

    out_fields: list[dict[str, Any]] = []
    actions: list[tuple[str, str]] = list(row.actions)
    uncovered: list[str] = list(row.uncovered)
    source_fields: list[str] = []
    passthrough: list[str] = []
    for fld in envelope["fields"]:
        name = str(fld["name"])
        if name in ROW_IMAGES:
            out_fields.append({"name": name, "type": ["null", row_type], "default": None})
        elif name == "source":
            src = record_of(fld["type"], f"source {source.name!r} source block")
            kept = [f for f in src["fields"] if f["name"] in SOURCE_KEEP]
            source_fields.extend(str(f["name"]) for f in kept)
            actions.extend(
                (f"source.{f['name']}", "keep" if f["name"] in SOURCE_KEEP else "drop") for f in src["fields"]
            )
            out_fields.append({**fld, "type": {**src, "fields": kept}})
        elif name in ENVELOPE_PASSTHROUGH:
            passthrough.append(name)
            out_fields.append(fld)
        else:
            uncovered.append(f"envelope.{name}")
            actions.append((f"envelope.{name}", "drop"))
    # Connect metadata would name the raw type; the output record is a different type.
    out_envelope = {k: v for k, v in envelope.items() if not k.startswith("connect.") and k != "doc"}
    out_envelope.update(name=anonymized_name(str(envelope["name"])), fields=out_fields)
    return CompiledEnvelope(
        row=row,
        source_fields=tuple(source_fields),
        passthrough=tuple(passthrough),
        output_schema=dedupe_named(out_envelope, set()),
        actions=tuple(actions),
        uncovered=tuple(uncovered),
    )


class DebeziumEnvelope:
    """``envelope: debezium``: the key is a plain record; the value is the before/after envelope."""

    kind = "debezium"

    def compile_key(self, source: SourcePolicy, key_schema: AvroType, keyring: KeyRing) -> CompiledKey:
        return compile_key(source, key_schema, keyring)

    def compile_value(self, source: SourcePolicy, value_schema: AvroType, keyring: KeyRing) -> CompiledEnvelope:
        return compile_envelope(source, value_schema, keyring)


ENVELOPE = DebeziumEnvelope()
