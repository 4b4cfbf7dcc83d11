"""Debezium envelopes: ``before``/``after`` row images, ``source``, ``op``, timestamps, ``transaction``.

The row images go through the policy (the same plan for ``before`` and ``after``, so the same value gives the
same token). ``op`` passes. Envelope metadata is under the source's ``metadata`` policy
(``streams.envelope.metadata``): times (``ts_ms``/``ts_us``/``ts_ns``, top level and in ``source``) are
coarsened (default: to the hour), positions (``transaction``, ``source.lsn``/``txId``/``sequence``/``xmin``,
MySQL ``file``/``pos``/``row``/``gtid``/``thread``, ...) are dropped, technical fields (``connector``, ``db``,
``table``, ...) are kept; see ``TOP_FIELDS`` and ``SOURCE_FIELDS``. Fields such as MySQL's ``query`` (raw SQL
text, which can hold personal data) are always dropped. Anything else in the envelope that this module does not
know is dropped and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.avro.types import AvroType, dedupe_named, expand
from streams.envelope.base import CompiledKey, compile_key, subject_key
from streams.envelope.metadata import (
    KAFKA_TIMESTAMP,
    MetaAction,
    MetaField,
    TimeUnit,
    check_paths,
    kafka_timestamp_action,
    resolve,
)
from streams.envelope.validate import debezium_op
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.compiler import CompiledRecord, anonymized_name, compile_record, record_of
from streams.policy.model import SourcePolicy
from streams.transforms.plan import Row

ROW_IMAGES = ("before", "after")
OPERATION = "op"

_TIMES: dict[str, TimeUnit] = {"ts_ms": "ms", "ts_us": "us", "ts_ns": "ns"}
#: Top-level envelope metadata (``op`` passes as it is; the row images go through the policy).
TOP_FIELDS: dict[str, MetaField] = {
    **{n: MetaField(f"envelope.{n}", "time", u) for n, u in _TIMES.items()},
    # transaction id (PostgreSQL: "txId:LSN"), total and per-table order: positions.
    "transaction": MetaField("envelope.transaction", "position"),
}
_SOURCE_POSITIONS = (
    "sequence", "txId", "lsn", "xmin", "gtid", "file", "pos", "row", "thread", "event_serial_no", "commit_lsn",
    "change_lsn", "scn", "commit_scn", "ord", "rs", "h", "tord", "stxnid",
)  # fmt: skip
_SOURCE_TECHNICAL = ("version", "connector", "name", "snapshot", "db", "schema", "table", "collection", "server_id")
#: The source block fields this module knows; any other (MySQL's ``query``: raw SQL) is always dropped.
SOURCE_FIELDS: dict[str, MetaField] = {
    **{n: MetaField(f"envelope.source.{n}", "time", u) for n, u in _TIMES.items()},
    **{n: MetaField(f"envelope.source.{n}", "position") for n in _SOURCE_POSITIONS},
    **{n: MetaField(f"envelope.source.{n}", "technical") for n in _SOURCE_TECHNICAL},
}
CATALOG: tuple[MetaField, ...] = (*TOP_FIELDS.values(), *SOURCE_FIELDS.values())


@dataclass(frozen=True, slots=True)
class CompiledEnvelope:
    row: CompiledRecord
    source_fields: tuple[tuple[str, MetaAction], ...]  # kept fields of the source block
    passthrough: tuple[tuple[str, MetaAction | None], ...]  # kept top-level envelope fields (None: op)
    output_schema: dict[str, Any]  # writable Avro schema of the output value
    actions: tuple[tuple[str, str], ...]
    uncovered: tuple[str, ...]
    metadata: tuple[tuple[str, MetaAction], ...]  # every metadata field of the schema, with its action
    kafka_timestamp: MetaAction

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
            out["source"] = {name: action.apply(source.get(name)) for name, action in self.source_fields}
        for name, meta in self.passthrough:
            out[name] = value.get(name) if meta is None else meta.apply(value.get(name))
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
        nullable=source.k_suppressible_paths,
    )
    row_type: dict[str, Any] = row.output_schema

    check_paths(source, CATALOG)
    out_fields: list[dict[str, Any]] = []
    actions: list[tuple[str, str]] = list(row.actions)
    uncovered: list[str] = list(row.uncovered)
    source_fields: list[tuple[str, MetaAction]] = []
    passthrough: list[tuple[str, MetaAction | None]] = []
    metadata: list[tuple[str, MetaAction]] = []
    for fld in envelope["fields"]:
        name = str(fld["name"])
        if name in ROW_IMAGES:
            out_fields.append({"name": name, "type": ["null", row_type], "default": None})
        elif name == "source":
            src = record_of(fld["type"], f"source {source.name!r} source block")
            kept: list[dict[str, Any]] = []
            for sub in src["fields"]:
                known = SOURCE_FIELDS.get(str(sub["name"]))
                action = resolve(source.metadata, known) if known else MetaAction("drop")
                actions.append((f"source.{sub['name']}", action.label))
                if known:
                    metadata.append((known.path, action))
                if action.kept:
                    source_fields.append((str(sub["name"]), action))
                    kept.append(_documented(sub, action))
            out_fields.append({**fld, "type": {**src, "fields": kept}})
        elif name == OPERATION:
            passthrough.append((name, None))
            out_fields.append(fld)
        elif name in TOP_FIELDS:
            action = resolve(source.metadata, TOP_FIELDS[name])
            actions.append((TOP_FIELDS[name].path, action.label))
            metadata.append((TOP_FIELDS[name].path, action))
            if action.kept:
                passthrough.append((name, action))
                out_fields.append(_documented(fld, action))
        else:
            uncovered.append(f"envelope.{name}")
            actions.append((f"envelope.{name}", "drop"))
    kafka_action = kafka_timestamp_action(source)
    actions.append((KAFKA_TIMESTAMP, kafka_action.label))
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
        metadata=tuple(metadata),
        kafka_timestamp=kafka_action,
    )


def _documented(fld: Mapping[str, Any], action: MetaAction) -> dict[str, Any]:
    """The output field, its doc saying how a coarsened value was coarsened."""
    if action.action != "coarsen":
        return dict(fld)
    return {**fld, "doc": f"crm-anonymizer: {action.label} (floor to the start of the {action.granularity}, UTC)"}


class DebeziumEnvelope:
    """``envelope: debezium``: the key is a plain record; the value is the before/after envelope."""

    kind = "debezium"

    def compile_key(self, source: SourcePolicy, key_schema: AvroType, keyring: KeyRing) -> CompiledKey:
        return compile_key(source, key_schema, keyring)

    def compile_value(self, source: SourcePolicy, value_schema: AvroType, keyring: KeyRing) -> CompiledEnvelope:
        return compile_envelope(source, value_schema, keyring)


ENVELOPE = DebeziumEnvelope()
