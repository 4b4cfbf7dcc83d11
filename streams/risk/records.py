"""Subject records: per source, each subject's first full image, raw and as published, as flat field paths."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.policy.model import SourcePolicy
from streams.risk.simulate import Published

HEADER = "ChangeEventHeader"
FULL_DEBEZIUM = ("r", "c")
FULL_SALESFORCE = ("CREATE",)


def flatten(row: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """``{"Name": {"FirstName": "Ada"}}`` -> ``{"Name.FirstName": "Ada"}`` (leaves only)."""
    flat: dict[str, Any] = {}
    for name, value in (row or {}).items():
        path = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def as_number(value: Any) -> float | None:
    """Numbers, dates (days) and datetimes (epoch ms) as floats; anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp() * 1000
    if isinstance(value, dt.date):
        return float((value - dt.date(1970, 1, 1)).days)
    return None


def row_image(kind: str, value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The row fields of an envelope value: Debezium's ``after`` (or ``before``), Salesforce's body."""
    if value is None:
        return None
    if kind == "debezium":
        image = value.get("after") or value.get("before")
        return flatten(image) if image is not None else None
    return flatten({k: v for k, v in value.items() if k != HEADER})


def envelope_leaves(kind: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    """The envelope fields of an output value (everything but the row images), flat."""
    if value is None:
        return {}
    if kind == "debezium":
        return flatten({k: v for k, v in value.items() if k not in ("before", "after")})
    return flatten({HEADER: value.get(HEADER)})


def is_full_image(kind: str, raw_value: Mapping[str, Any] | None) -> bool:
    if raw_value is None:
        return False
    if kind == "debezium":
        return raw_value.get("op") in FULL_DEBEZIUM
    return raw_value.get(HEADER, {}).get("changeType") in FULL_SALESFORCE


def subject_of(kind: str, raw_key: Any, raw_value: Mapping[str, Any]) -> str:
    if kind == "salesforce":
        return str(raw_value[HEADER]["recordIds"][0])
    return repr(sorted((raw_key or {}).items()))


@dataclass(slots=True)
class SubjectRecord:
    subject: str
    raw: dict[str, Any]
    out: dict[str, Any]  # as published (after any simulated k-anonymity suppression)
    clear: dict[str, Any]  # as the policy's transforms alone make it: what an attacker computes from raw values
    suppressed: frozenset[str] = frozenset()


@dataclass(slots=True)
class SourceRecords:
    source: SourcePolicy
    subjects: list[SubjectRecord] = field(default_factory=list)
    events: list[tuple[Published, dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # + raw/out rows


def by_source(sources: Sequence[SourcePolicy], published: Sequence[Published]) -> dict[str, SourceRecords]:
    topics = {s.topic: s for s in sources}
    result = {s.name: SourceRecords(s) for s in sources}
    seen: set[tuple[str, str]] = set()
    for item in published:
        source = topics.get(item.record.topic)
        if source is None or item.raw_value is None:
            continue
        kind = source.envelope
        raw, out = row_image(kind, item.raw_value), row_image(kind, item.value)
        if raw is None or out is None:
            continue
        records = result[source.name]
        records.events.append((item, raw, out))
        if not is_full_image(kind, item.raw_value):
            continue
        subject = subject_of(kind, item.raw_key, item.raw_value)
        if (source.name, subject) not in seen:
            seen.add((source.name, subject))
            records.subjects.append(SubjectRecord(subject, raw, out, dict(out)))
    return result


def attach_clear(published: SourceRecords, plain: SourceRecords) -> None:
    """``published`` came out of the worker's streaming k-anonymity; the attacker still computes every
    member's signature from the transforms alone (``plain``, the same population without k-anonymity, same
    keys). Marks the fields k-anonymity suppressed in each subject record."""
    clear = {s.subject: s.clear for s in plain.subjects}
    paths = published.source.k_suppressible_paths
    for subject in published.subjects:
        subject.clear = clear.get(subject.subject, subject.clear)
        subject.suppressed = frozenset(
            p for p in paths if subject.out.get(p) is None and subject.clear.get(p) is not None
        )


def iter_values(subjects: Sequence[SubjectRecord], path: str, side: str) -> Iterator[Any]:
    for subject in subjects:
        yield (subject.raw if side == "raw" else subject.out).get(path)
