"""What else the output gives away: time fields recoverable from other kept times, token frequencies, and
token scopes that join sources.

- Time-field exposure, per row field published coarser than a day (``generalize`` to a year/quarter/month,
  ``date_shift``): the share of published events in which another kept time (any envelope time or position
  that encodes one: Debezium ``ts_*``/``source.ts_*``, Salesforce ``commitTimestamp``/``commitNumber``, the
  Kafka timestamp, another row time) lies within a day of the field's raw value. Such a field is published
  at that precision, whatever its transform says.
- Token frequency exposure, per keyed field (tokenize, deterministic encrypt; randomized ciphertexts have no
  frequencies): the expected share of records whose raw value an attacker labels by rank matching the token
  counts against the raw value counts (a value whose count is shared by m raw values is labelled correctly
  with chance 1/m).
- Cross-source joins: token scopes used by fields of different sources, with the number of token values they
  share; the policy declares the ones it means (``risk.joins``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.risk.attacker import KEYED, is_randomized_encryption, transform_of
from streams.risk.records import SourceRecords, as_number, envelope_leaves

DAY_MS = 86_400_000
COARSE = ("year", "quarter", "month")
MS_RANGE = (1e11, 1e13)  # 1973 .. 2286 in epoch milliseconds


def as_epoch_ms(value: Any) -> float | None:
    """An integer that encodes an instant (s, ms, us, ns, or Salesforce's commitNumber = ms x 10^6 + n)."""
    number = as_number(value)
    if number is None:
        return None
    for divisor in (1.0, 1e3, 1e6):
        scaled = number / divisor
        if MS_RANGE[0] <= scaled < MS_RANGE[1]:
            return scaled
    return None


def _coarse_times(records: SourceRecords) -> list[str]:
    paths = []
    for path, rule in records.source.fields.items():
        name = getattr(rule, "transform", "")
        if name == "date_shift" or (name == "generalize" and getattr(rule, "to", None) in COARSE):
            paths.append(path)
    return paths


@dataclass(slots=True)
class TimeExposure:
    events: int = 0
    exposed: float = 0.0
    via: dict[str, int] = field(default_factory=dict)  # kept field -> events it exposed


def time_exposure(records: SourceRecords) -> dict[str, TimeExposure]:
    result: dict[str, TimeExposure] = {}
    kind = records.source.envelope
    for path in _coarse_times(records):
        stats = TimeExposure()
        hits = 0
        for item, raw, out in records.events:
            truth = as_epoch_ms(raw.get(path))
            if truth is None or out.get(path) is None:
                continue
            stats.events += 1
            kept: dict[str, Any] = {f"envelope.{k}": v for k, v in envelope_leaves(kind, item.value).items()}
            kept["kafka.timestamp"] = item.timestamp_ms
            kept.update({k: v for k, v in out.items() if k != path and transform_of(records.source, k) == "keep"})
            exposing = [name for name, value in kept.items() if _within_day(value, truth)]
            if exposing:
                hits += 1
                for name in exposing:
                    stats.via[name] = stats.via.get(name, 0) + 1
        stats.exposed = hits / stats.events if stats.events else 0.0
        result[path] = stats
    return result


def _within_day(value: Any, truth: float) -> bool:
    instant = as_epoch_ms(value)
    return instant is not None and abs(instant - truth) <= DAY_MS


def rank_matching(values: Iterable[Any]) -> float:
    counts = Counter(repr(v) for v in values if v is not None)
    total = sum(counts.values())
    if not total:
        return 0.0
    class_size = Counter(counts.values())
    return sum(c / class_size[c] for c in counts.values()) / total


def token_exposure(records: SourceRecords) -> dict[str, float]:
    out: dict[str, float] = {}
    for path in records.source.fields:
        if transform_of(records.source, path) in KEYED and not is_randomized_encryption(records.source, path):
            values = [s.raw.get(path) for s in records.subjects]
            if any(v is not None for v in values):
                out[path] = rank_matching(values)
    return out


@dataclass(frozen=True, slots=True)
class ScopeJoin:
    scope: str
    fields: tuple[str, ...]  # source.field
    shared_tokens: int
    declared: bool


def scope_joins(all_records: Mapping[str, SourceRecords], declared: Mapping[str, str]) -> list[ScopeJoin]:
    by_scope: dict[str, list[tuple[str, str]]] = {}
    for name, records in all_records.items():
        for path, rule in records.source.fields.items():
            scope = getattr(rule, "scope", None)
            if getattr(rule, "transform", "") == "tokenize" and scope:
                by_scope.setdefault(str(scope), []).append((name, path))
    joins = []
    for scope, users in sorted(by_scope.items()):
        if len({source for source, _ in users}) < 2:
            continue
        token_sets: dict[str, set[str]] = {}
        for source, path in users:
            tokens = {repr(out.get(path)) for _, _, out in all_records[source].events if out.get(path) is not None}
            token_sets.setdefault(source, set()).update(tokens)
        sets: Sequence[set[str]] = list(token_sets.values())
        shared = set.intersection(*sets) if len(sets) > 1 else set()
        joins.append(ScopeJoin(scope, tuple(f"{s}.{p}" for s, p in users), len(shared), scope in declared))
    return joins
