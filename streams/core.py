"""The anonymization core: plain Python values in, plain values and an audit summary out.

Knows nothing of Kafka, Faust or the registry. ``anonymize_batch`` applies each field's transform once per
batch (so vectorized transforms pay their per-call cost once), then isolates failures: if a batch fails,
events are retried one by one and only the failing ones come back as errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streams.envelope.base import CompiledKey, EnvelopePlan, subject_key
from streams.errors import AnonymizationError, ReasonCode
from streams.k_anonymity import KCounts
from streams.transforms.plan import Row, apply_plan


@dataclass(frozen=True, slots=True)
class EventIn:
    key: Row | None
    value: Row | None  # None: a tombstone
    state: dict[str, Any] | None = None  # the subject's durable DP state (mutated in place), if the worker has one


@dataclass(frozen=True, slots=True)
class EventOut:
    key: dict[str, Any] | None
    value: dict[str, Any] | None
    actions: tuple[tuple[str, str], ...]  # (field path, action) applied to this event; names only
    uncovered: tuple[str, ...]
    epsilon: tuple[tuple[str, float], ...] = ()  # DP fields released: epsilon per value
    operation: str | None = None  # the change operation (Debezium op, Salesforce changeType) or TOMBSTONE
    suppressed: tuple[tuple[str, str], ...] = ()  # (field path, reason) of values suppressed in this event
    k_class: int | None = None  # k-anonymity: the fewest other subjects in a class an image went out in


def _anonymize(
    key_plan: CompiledKey | None, envelope: EnvelopePlan | None, events: Sequence[EventIn], k: KCounts | None
) -> list[EventOut]:
    keys = [e.key for e in events if e.key is not None]
    key_out: list[dict[str, Any]] = [{} for _ in keys]
    if keys:
        if key_plan is None:
            raise AnonymizationError(ReasonCode.UNSUPPORTED_ENVELOPE, "event has a key but no key schema")
        apply_plan(key_plan.record.plan, keys, key_out, [subject_key(k) for k in keys])

    rows: list[Row] = []
    subjects: list[bytes] = []
    states: list[dict[str, Any] | None] = []
    owners: list[tuple[int, str]] = []
    for i, event in enumerate(events):
        if event.value is None:
            continue
        assert envelope is not None  # callers pass the envelope plan whenever a value is present
        subject = envelope.subject(event.key, event.value)
        for slot, row in envelope.images(event.value):
            rows.append(row)
            subjects.append(subject)
            states.append(event.state)
            owners.append((i, slot))
    rows_out: list[dict[str, Any]] = [{} for _ in rows]
    notes: list[tuple[int, str, str]] = []
    if rows:
        assert envelope is not None
        with_state = any(state is not None for state in states)
        apply_plan(envelope.row.plan, rows, rows_out, subjects, states if with_state else (), notes)
    k_class: dict[int, int] = {}
    if k is not None:  # last: the check sees the values as they will be published
        for row_index, row_out in enumerate(rows_out):
            decision = k.check(row_out, subjects[row_index])
            event_index = owners[row_index][0]
            k_class[event_index] = min(k_class.get(event_index, decision.class_size), decision.class_size)
            notes.extend((row_index, path, reason) for path, reason in decision.notes)
    suppressed: dict[int, set[tuple[str, str]]] = {}
    for row_index, path, reason in notes:
        suppressed.setdefault(owners[row_index][0], set()).add((path, reason))
    per_event: list[dict[str, dict[str, Any]]] = [{} for _ in events]
    for (i, slot), row_out in zip(owners, rows_out, strict=True):
        per_event[i][slot] = row_out

    results: list[EventOut] = []
    key_iter = iter(key_out)
    key_actions = key_plan.record.actions if key_plan else ()
    for i, event in enumerate(events):
        key = next(key_iter) if event.key is not None else None
        if event.value is None:
            results.append(EventOut(key, None, key_actions, (), (), "TOMBSTONE"))
            continue
        assert envelope is not None
        value = envelope.assemble(event.value, per_event[i])
        notes_here = tuple(sorted(suppressed.get(i, ())))
        results.append(
            EventOut(
                key,
                value,
                key_actions + envelope.actions + notes_here,
                envelope.uncovered,
                envelope.epsilon,
                envelope.operation(event.value),
                notes_here,
                k_class.get(i),
            )
        )
    return results


def anonymize_batch(
    key_plan: CompiledKey | None,
    envelope: EnvelopePlan | None,
    events: Sequence[EventIn],
    k: KCounts | None = None,
) -> list[EventOut | AnonymizationError]:
    """Anonymize events that share one key plan and one envelope plan; errors come back per event.

    ``k``: the class counts of the source when its policy asks for k-anonymity (updated in place; a retried
    event does not count twice, classes count distinct subjects)."""
    try:
        return list(_anonymize(key_plan, envelope, events, k))
    except Exception as exc:
        if len(events) == 1:
            return [_as_record_error(exc)]
    outcomes: list[EventOut | AnonymizationError] = []
    for event in events:
        try:
            outcomes.append(_anonymize(key_plan, envelope, [event], k)[0])
        except Exception as exc:
            outcomes.append(_as_record_error(exc))
    return outcomes


def _as_record_error(exc: Exception) -> AnonymizationError:
    """A transform that fails in an unforeseen way (a library error on an extreme value) fails its record,
    never the batch; the library's message may quote the value, so only its type is kept."""
    if isinstance(exc, AnonymizationError):
        return exc
    return AnonymizationError(ReasonCode.TRANSFORM_FAILED, f"transform raised {type(exc).__name__}")
