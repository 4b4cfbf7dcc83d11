"""Audit records: one per input event, saying what was done (field names and actions), never values."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from fastavro import parse_schema, schemaless_writer

from streams import __version__
from streams.settings import SCHEMA_DIR as SCHEMAS

SCHEMA_DIR = SCHEMAS


def load_schema(name: str) -> Any:
    return json.loads((SCHEMA_DIR / name).read_text())


AUDIT_SCHEMA = load_schema("audit_event.avsc")
# Fields that repeat for every event of one compiled plan. Avro encodes a record as the concatenation of
# its fields, so these can be encoded once per plan and appended to each event's encoded head.
STATIC_TAIL = ("field_actions", "uncovered_fields", "epsilon_spent", "actor")


class AuditEncoder:
    """Encodes audit records to Avro bytes, byte-identical to a full fastavro encode, with the per-plan
    tail (field actions, uncovered fields) encoded once instead of once per event."""

    def __init__(self, schema: dict[str, Any] = AUDIT_SCHEMA) -> None:
        fields = schema["fields"]
        names = [f["name"] for f in fields]
        split = names.index(STATIC_TAIL[0])
        if tuple(names[split:]) != STATIC_TAIL:
            raise ValueError("audit schema: the static tail fields must come last, in order")
        named = {**schema, "fields": fields[:split], "name": schema["name"] + "Head"}
        tail = {**schema, "fields": fields[split:], "name": schema["name"] + "Tail"}
        self._head = parse_schema(named)
        self._tail = parse_schema(tail)
        self._head_names = names[:split]
        self._tails: dict[Hashable, bytes] = {}

    def encode(self, record: dict[str, Any], tail_key: Hashable) -> bytes:
        """``tail_key`` must identify the static tail's content (the plan's action and uncovered tuples)."""
        tail = self._tails.get(tail_key)
        if tail is None:
            out = io.BytesIO()
            schemaless_writer(out, self._tail, {name: record[name] for name in STATIC_TAIL})
            tail = out.getvalue()
            self._tails[tail_key] = tail
        head = io.BytesIO()
        schemaless_writer(head, self._head, record)
        return head.getvalue() + tail


@dataclass(frozen=True, slots=True)
class SourcePosition:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class PolicyRef:
    policy_id: str
    version: int
    content_hash: str


def anonymization_audit(
    position: SourcePosition,
    policy: PolicyRef | None,
    *,
    outcome: str,
    operation: str | None = None,
    output_topic: str | None = None,
    schema_ids_in: tuple[int | None, int | None] = (None, None),
    schema_ids_out: tuple[int | None, int | None] = (None, None),
    actions: tuple[tuple[str, str], ...] = (),
    uncovered: tuple[str, ...] = (),
    reason_code: str | None = None,
    epsilon_spent: dict[str, float] | None = None,
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "kind": "ANONYMIZATION",
        "processed_at": int(time.time() * 1000),
        "processor_version": __version__,
        "source_topic": position.topic,
        "source_partition": position.partition,
        "source_offset": position.offset,
        "key_schema_id_in": schema_ids_in[0],
        "value_schema_id_in": schema_ids_in[1],
        "key_schema_id_out": schema_ids_out[0],
        "value_schema_id_out": schema_ids_out[1],
        "output_topic": output_topic,
        "policy_id": policy.policy_id if policy else None,
        "policy_version": policy.version if policy else None,
        "policy_hash": policy.content_hash if policy else None,
        "operation": operation,
        "outcome": outcome,
        "reason_code": reason_code,
        "field_actions": [{"path": path, "action": action} for path, action in actions],
        "uncovered_fields": list(uncovered),
        "epsilon_spent": epsilon_spent or {},
        "actor": None,
    }
