"""What analysts keep: group counts and sums against the raw population, and joins between sources.

- Group counts: per kept categorical field (``keep``, at most 60 distinct raw values), the largest error of a
  group's record count, as a share of the group (0 when exact).
- Group sums: per noised number (laplace, gaussian) and kept categorical field, the largest relative error of a
  group's sum over the groups of at least ``MIN_GROUP`` records, and of the total; and the noise itself: its
  standard deviation per record (measured: published minus raw) as a share of the mean raw value, and the
  smallest group whose sum it keeps within ``SUM_TOLERANCE`` at one standard deviation (the sum error of n
  records is sd * sqrt(n), their typical sum n * mean: n >= (sd / (SUM_TOLERANCE * mean))^2).
- Joins: per token scope shared by two sources, the share of the first field's values that find a match in
  the second, raw and published (a join is preserved when the two agree).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.risk.attacker import transform_of
from streams.risk.records import SourceRecords, as_number

MIN_GROUP = 100
SUM_TOLERANCE = 0.05
MAX_CATEGORIES = 60
SUMMED = frozenset({"laplace", "gaussian"})


@dataclass(slots=True)
class Utility:
    count_error: dict[str, float] = field(default_factory=dict)
    sum_error: dict[str, float] = field(default_factory=dict)  # "value by group" -> worst group error
    total_sum_error: dict[str, float] = field(default_factory=dict)
    noise_sd_of_mean: dict[str, float] = field(default_factory=dict)  # per-record noise sd / mean raw value
    group_within_tolerance: dict[str, int] = field(default_factory=dict)  # smallest n: sum within 5% at one sd


def _categorical(records: SourceRecords) -> list[str]:
    paths = []
    for path in records.source.fields:
        if transform_of(records.source, path) != "keep":
            continue
        values = {repr(s.raw.get(path)) for s in records.subjects}
        if 1 < len(values) <= MAX_CATEGORIES:
            paths.append(path)
    return paths


def utility(records: SourceRecords) -> Utility:
    result = Utility()
    groups = _categorical(records)
    subjects = records.subjects
    for path in groups:
        raw_counts: dict[str, int] = defaultdict(int)
        out_counts: dict[str, int] = defaultdict(int)
        for s in subjects:
            raw_counts[repr(s.raw.get(path))] += 1
            out_counts[repr(s.out.get(path))] += 1
        result.count_error[path] = max(abs(out_counts[g] - c) / c for g, c in raw_counts.items())
    for value in (p for p in records.source.fields if transform_of(records.source, p) in SUMMED):
        pairs = [(as_number(s.raw.get(value)), as_number(s.out.get(value)), s) for s in subjects]
        both = [(r, o, s) for r, o, s in pairs if r is not None and o is not None]
        if not both:
            continue
        raw_total = sum(r for r, _, _ in both)
        result.total_sum_error[value] = abs(sum(o for _, o, _ in both) - raw_total) / abs(raw_total or 1.0)
        mean = abs(raw_total) / len(both)
        if mean > 0:
            sd = statistics.pstdev([o - r for r, o, _ in both])
            result.noise_sd_of_mean[value] = sd / mean
            result.group_within_tolerance[value] = max(1, math.ceil((sd / (SUM_TOLERANCE * mean)) ** 2))
        for path in groups:
            sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
            for r, o, s in both:
                cell = sums[repr(s.raw.get(path))]
                cell[0] += r
                cell[1] += o
                cell[2] += 1
            errors = [abs(o - r) / abs(r or 1.0) for r, o, count in sums.values() if count >= MIN_GROUP]
            if errors:
                result.sum_error[f"{value} by {path}"] = max(errors)
    return result


@dataclass(frozen=True, slots=True)
class Join:
    scope: str
    left: str
    right: str
    raw_match: float
    published_match: float


def joins(all_records: Mapping[str, SourceRecords]) -> list[Join]:
    fields: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, records in all_records.items():
        for path, rule in records.source.fields.items():
            scope = getattr(rule, "scope", None)
            if getattr(rule, "transform", "") == "tokenize" and scope:
                fields[str(scope)].append((name, path))
    found = []
    for scope, users in sorted(fields.items()):
        for left_source, left in users:
            for right_source, right in users:
                if left_source == right_source:
                    continue
                join = _join(scope, all_records, (left_source, left), (right_source, right))
                if join is not None:
                    found.append(join)
    return found


def _match(values: list[Any], targets: set[str]) -> float:
    present = [v for v in values if v is not None]
    return sum(repr(v) in targets for v in present) / len(present) if present else 0.0


def _join(scope: str, recs: Mapping[str, SourceRecords], left: tuple[str, str], right: tuple[str, str]) -> Join | None:
    lrec, rrec = recs[left[0]].subjects, recs[right[0]].subjects
    raw_targets = {repr(s.raw.get(right[1])) for s in rrec if s.raw.get(right[1]) is not None}
    if not raw_targets or not any(s.raw.get(left[1]) is not None for s in lrec):
        return None  # not a row field on one side (a Salesforce record id lives in the header)
    out_targets = {repr(s.out.get(right[1])) for s in rrec if s.out.get(right[1]) is not None}
    return Join(
        scope,
        f"{left[0]}.{left[1]}",
        f"{right[0]}.{right[1]}",
        _match([s.raw.get(left[1]) for s in lrec], raw_targets),
        _match([s.out.get(left[1]) for s in lrec], out_targets),
    )
