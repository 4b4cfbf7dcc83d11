"""Dead-letter replay: sealed dead letters back through the current policy, once.

``crm-anonymizer deadletter list`` shows dead letters (position, reason, detail, time; never a value) by
reason, source topic and time range; ``deadletter replay`` opens the matching ones with the dead-letter key,
runs the raw records through the pipeline with the current policy, publishes them, and audits each with
outcome ``REPLAYED`` and the original source position (outputs carry it in their source headers too). A
position that already has a ``PUBLISHED`` or ``REPLAYED`` audit is skipped, so replaying twice publishes
once. A record the current policy still refuses is dead-lettered again (a new letter, the same position).

Pure: letters and audits come in as decoded dicts; the CLI reads the topics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.audit import SourcePosition
from streams.deadletter import DeadLetterSealer
from streams.errors import CrmAnonymizerError
from streams.ports import RawRecord

Position = tuple[str, int, int]


class ReplayError(CrmAnonymizerError):
    """A dead letter cannot be reopened (no sealed payload, or the key does not open it); names the position."""


@dataclass(frozen=True, slots=True)
class LetterFilter:
    reason: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, letter: dict[str, Any]) -> bool:
        failed_at = letter["failed_at"]
        return (
            (self.reason is None or letter["reason_code"] == self.reason)
            and (self.source is None or letter["source_topic"] == self.source)
            and (self.since is None or failed_at >= self.since)
            and (self.until is None or failed_at < self.until)
        )


def position(record: dict[str, Any]) -> Position:
    return (record["source_topic"], record["source_partition"], record["source_offset"])


def latest_letters(letters: Iterable[dict[str, Any]], selected: LetterFilter) -> list[dict[str, Any]]:
    """The matching letters, one per source position (the latest), in position order."""
    latest: dict[Position, dict[str, Any]] = {}
    for letter in letters:
        if selected.matches(letter):
            latest[position(letter)] = letter
    return [latest[p] for p in sorted(latest)]


def summary_line(letter: dict[str, Any]) -> str:
    """One JSON line per letter for ``deadletter list``: position, reason and detail, no value."""
    failed_at = letter["failed_at"]
    return json.dumps(
        {
            "source_topic": letter["source_topic"],
            "source_partition": letter["source_partition"],
            "source_offset": letter["source_offset"],
            "reason_code": letter["reason_code"],
            "reason_detail": letter["reason_detail"],
            "failed_at": failed_at.isoformat() if isinstance(failed_at, datetime) else failed_at,
            "sealed": letter["encrypted_value"] is not None or letter["encrypted_key"] is not None,
        }
    )


def published_positions(audits: Iterable[dict[str, Any]]) -> set[Position]:
    return {
        position(a) for a in audits if a.get("kind") == "ANONYMIZATION" and a["outcome"] in ("PUBLISHED", "REPLAYED")
    }


def reopen(letter: dict[str, Any], sealer: DeadLetterSealer) -> RawRecord:
    """The raw record of a dead letter, as it was consumed (same position, timestamp, key, value, headers)."""
    where = SourcePosition(letter["source_topic"], letter["source_partition"], letter["source_offset"])
    shown = f"{where.topic}/{where.partition}/{where.offset}"
    if letter["encrypted_key"] is None and letter["encrypted_value"] is None:
        raise ReplayError(f"dead letter {shown} holds no sealed payload (read it from its source position)")
    if letter["encryption_key_id"] != sealer.key_id:
        raise ReplayError(f"dead letter {shown} is sealed with key {letter['encryption_key_id']!r}")

    def opened(field: str, part: str) -> bytes | None:
        sealed = letter[field]
        if sealed is None:
            return None
        try:
            return sealer.open(sealed, where, part)
        except Exception:  # cryptography's InvalidTag: wrong key or a moved/modified ciphertext
            raise ReplayError(f"dead letter {shown}: the {part} does not open with the dead-letter key") from None

    headers_json = opened("encrypted_headers", "headers")
    headers = [(k, bytes.fromhex(v)) for k, v in json.loads(headers_json)] if headers_json else []
    return RawRecord(
        where.topic,
        where.partition,
        where.offset,
        letter["source_timestamp_ms"],
        opened("encrypted_key", "key"),
        opened("encrypted_value", "value"),
        headers,
    )


@dataclass(slots=True)
class ReplayPlan:
    records: list[RawRecord]
    already_published: list[Position]
    unrecoverable: list[str]  # ReplayError messages (positions, no values)


def plan_replay(
    letters: Sequence[dict[str, Any]], audits: Iterable[dict[str, Any]], sealer: DeadLetterSealer
) -> ReplayPlan:
    done = published_positions(audits)
    plan = ReplayPlan([], [], [])
    for letter in letters:
        if position(letter) in done:
            plan.already_published.append(position(letter))
            continue
        try:
            plan.records.append(reopen(letter, sealer))
        except ReplayError as exc:
            plan.unrecoverable.append(str(exc))
    return plan
