"""Run a policy over raw records through the real :class:`~streams.processor.pipeline.Pipeline`, in memory.

The schema source is an in-memory registry (writer schemas given up front, derived output schemas registered
here and nowhere else), the sink collects in memory, keys throwaway ones: the
evaluation sees exactly what the worker would publish (row fields, envelope fields, the Kafka timestamp) and
never writes to a real registry or topic.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastavro import parse_schema

from streams.audit import AUDIT_SCHEMA
from streams.avro import wire
from streams.deadletter import DeadLetterSealer
from streams.errors import AnonymizationError, ReasonCode
from streams.keys import KeyRing
from streams.memory_sink import MemorySink
from streams.policy.loader import LoadedPolicy
from streams.ports import RawRecord, WriterSchema
from streams.processor.pipeline import Pipeline

AUDIT_TOPIC = "risk.evaluation.audit"
DEAD_LETTER_TOPIC = "risk.evaluation.deadletter"
CHUNK = 250


class MemorySchemas:
    """A :class:`~streams.ports.SchemaSource` over a dict: ids for the writer schemas, derived ones added."""

    def __init__(self, writers: Mapping[int, Any] | None = None) -> None:
        self._by_id: dict[int, WriterSchema] = {}
        self._by_text: dict[tuple[str, str], int] = {}
        for schema_id, schema in (writers or {}).items():
            self._by_id[schema_id] = WriterSchema(schema_id, schema, parse_schema(schema))

    def add_with_id(self, schema_id: int, schema: Any) -> None:
        """A writer schema under the id its records carry (records read from a topic)."""
        self._by_id[schema_id] = WriterSchema(schema_id, schema, parse_schema(schema))

    def add(self, subject: str, schema: Any) -> int:
        text = json.dumps(schema, sort_keys=True)
        found = self._by_text.get((subject, text))
        if found is not None:
            return found
        schema_id = max(self._by_id, default=0) + 1
        self._by_id[schema_id] = WriterSchema(schema_id, schema, parse_schema(schema))
        self._by_text[(subject, text)] = schema_id
        return schema_id

    async def writer_schema(self, schema_id: int) -> WriterSchema:
        found = self._by_id.get(schema_id)
        if found is None:
            raise AnonymizationError(ReasonCode.UNKNOWN_SCHEMA_ID, f"schema id {schema_id} unknown")
        return found

    async def register(self, subject: str, schema: Any, *, new_subject_compatibility: str | None = None) -> int:
        return self.add(subject, schema)

    def decode(self, data: bytes) -> Any:
        schema_id, body = wire.split_frame(data)
        return wire.decode_body(body, self._by_id[schema_id].parsed)


@dataclass(frozen=True, slots=True)
class Published:
    """One input record and what the pipeline published for it (decoded)."""

    record: RawRecord
    raw_key: Any
    raw_value: Any
    key: Any
    value: Any
    timestamp_ms: int | None


def throwaway_keyring(key_ids: Iterable[str], encryption_key_id: str | None) -> KeyRing:
    """Fresh random keys under the configured ids: the evaluation measures structure, never real tokens."""
    ids = list(dict.fromkeys(key_ids))
    keys = {key_id: secrets.token_bytes(64) for key_id in ids}
    defaults = {"encrypt": encryption_key_id} if encryption_key_id in keys else {}
    return KeyRing(keys, ids[0], defaults)


async def _run(
    loaded: LoadedPolicy, keyring: KeyRing, schemas: MemorySchemas, records: Sequence[RawRecord]
) -> tuple[list[Published], int]:
    sink = MemorySink()
    pipeline = Pipeline(
        loaded,
        keyring,
        schemas,
        sink,
        DeadLetterSealer(secrets.token_bytes(32), "risk-evaluation"),
        audit_topic=AUDIT_TOPIC,
        dead_letter_topic=DEAD_LETTER_TOPIC,
    )
    await pipeline.start()
    audit_parsed = parse_schema(AUDIT_SCHEMA)
    outputs = {s.output_topic for s in loaded.policy.sources}
    published: list[Published] = []
    dead_lettered = 0
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        by_offset = {(r.topic, r.offset): r for r in chunk}
        before = len(sink.sent)
        stats = await pipeline.process(chunk)
        dead_lettered += stats.dead_lettered
        sent = sink.sent[before:]
        out = [s for s in sent if s.topic in outputs]
        audits = [
            wire.decode_body(wire.split_frame(s.value)[1], audit_parsed)
            for s in sent
            if s.topic == AUDIT_TOPIC and s.value
        ]
        done = [a for a in audits if a["outcome"] == "PUBLISHED"]
        # Outputs and their PUBLISHED audits are sent in the same order: pair them by position.
        for audit, sent_record in zip(done, out, strict=True):
            raw = by_offset[(audit["source_topic"], audit["source_offset"])]
            published.append(
                Published(
                    raw,
                    schemas.decode(raw.key) if raw.key else None,
                    schemas.decode(raw.value) if raw.value else None,
                    schemas.decode(sent_record.key) if sent_record.key else None,
                    schemas.decode(sent_record.value) if sent_record.value else None,
                    sent_record.timestamp_ms,
                )
            )
    pipeline.close()
    return published, dead_lettered


def run_policy(
    loaded: LoadedPolicy, keyring: KeyRing, schemas: MemorySchemas, records: Sequence[RawRecord]
) -> tuple[list[Published], int]:
    """Every record through the pipeline; returns what was published (in input order) and the dead-letter count."""
    return asyncio.run(_run(loaded, keyring, schemas, records))
