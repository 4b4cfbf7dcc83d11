"""Envelope metadata under policy: times coarsened, positions dropped, technical fields kept, unless the
source's ``metadata`` section says otherwise (``streams.policy.model.MetadataPolicy``).

Why: a kept exact time or position undoes the transforms of the row. The envelope's event time equals
``created_at`` on a create and ``updated_at`` on an update, so it gives away a generalized or shifted date; a
commit number or LSN is a clock too (Salesforce's ``commitNumber`` is commitTimestamp x 10^6 + n). Consumers keep
order within a partition from the offsets, so positions are rarely needed; times to the hour usually are.

Each envelope kind declares a catalog of its metadata fields (:class:`MetaField`: path, kind, unit); this module
resolves what the policy says for each to one :class:`MetaAction` and applies it to values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from streams.errors import PolicyError
from streams.policy.model import MetadataPolicy, SourcePolicy

MetaKind = Literal["time", "position", "technical"]
TimeUnit = Literal["ms", "us", "ns"]
KAFKA_TIMESTAMP = "kafka.timestamp"

_PER_SECOND: dict[str, int] = {"ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_SECONDS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3_600, "day": 86_400, "week": 7 * 86_400}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class MetaField:
    """One metadata field an envelope kind knows: its policy path, what it is and, for times, its unit."""

    path: str
    kind: MetaKind
    unit: TimeUnit = "ms"


@dataclass(frozen=True, slots=True)
class MetaAction:
    """What happens to one metadata field: ``keep``, ``drop`` or ``coarsen`` to ``granularity``."""

    action: Literal["keep", "drop", "coarsen"]
    granularity: str = ""
    unit: TimeUnit = "ms"

    @property
    def label(self) -> str:
        return f"coarsen({self.granularity})" if self.action == "coarsen" else self.action

    @property
    def kept(self) -> bool:
        return self.action != "drop"

    def apply(self, value: object) -> object:
        if self.action != "coarsen" or value is None:
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            return None  # not an epoch number: nothing we can coarsen safely, so nothing is released
        return coarsen_epoch(value, self.unit, self.granularity)

    def backdates_s(self) -> float:
        """How far into the past a coarsened value can lie: the longest span of its granularity (a month:
        31 days); 0 for kept or dropped values."""
        if self.action != "coarsen":
            return 0.0
        return float(_SECONDS.get(self.granularity, 31 * 86_400))

    def seconds(self) -> float:
        """How precisely a kept value of this field tells the time (inf: not at all; 0: exactly)."""
        if self.action == "drop":
            return float("inf")
        if self.action == "keep":
            return 0.0
        return float(_SECONDS.get(self.granularity, 28 * 86_400))


def coarsen_epoch(value: int, unit: str, granularity: str) -> int:
    """Floor an epoch number (``unit`` ms/us/ns) to the start of its ``granularity`` (UTC; weeks from Monday)."""
    per_second = _PER_SECOND[unit]
    if granularity == "month":
        seconds = value // per_second
        moment = _EPOCH + dt.timedelta(seconds=seconds)
        start = dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)
        return int((start - _EPOCH).total_seconds()) * per_second
    step = _SECONDS[granularity] * per_second
    offset = 3 * 86_400 * per_second if granularity == "week" else 0  # 1970-01-01 was a Thursday
    return (value + offset) // step * step - offset


def resolve(policy: MetadataPolicy, field: MetaField) -> MetaAction:
    """The action for one known field: the policy's override, else the default for its kind."""
    said = policy.fields.get(field.path)
    if field.kind == "time":
        chosen = said or policy.time
        if chosen == "drop" and field.path == KAFKA_TIMESTAMP:
            raise PolicyError(f"{field.path}: a Kafka record always has a timestamp; keep it or coarsen it")
        if chosen in ("keep", "drop"):
            return MetaAction(chosen, unit=field.unit)
        return MetaAction("coarsen", chosen, field.unit)
    default = policy.positions if field.kind == "position" else "keep"
    chosen = said or default
    if chosen not in ("keep", "drop"):
        raise PolicyError(f"{field.path}: a {field.kind} field can be kept or dropped, not coarsened ({chosen})")
    return MetaAction(chosen)


def check_paths(source: SourcePolicy, catalog: Iterable[MetaField]) -> None:
    """Refuse overrides that name no metadata field of this envelope kind (a typo would fail open)."""
    known = {f.path for f in catalog} | {KAFKA_TIMESTAMP}
    unknown = sorted(set(source.metadata.fields) - known)
    if unknown:
        hints = []
        for path in unknown:
            near = [k for k in known if k.lower() == path.lower()]
            hints.append(f"{path!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise PolicyError(f"source {source.name!r}: metadata names no known envelope field: {', '.join(hints)}")


KAFKA_TIMESTAMP_FIELD = MetaField(KAFKA_TIMESTAMP, "time", "ms")


def kafka_timestamp_action(source: SourcePolicy) -> MetaAction:
    return resolve(source.metadata, KAFKA_TIMESTAMP_FIELD)


def output_timestamp(action: MetaAction, timestamp_ms: int | None) -> int | None:
    """The output record's timestamp: the input's, coarsened as the policy says (None: the producer's clock
    would stamp it, which is the processing time: close to the event time, so it is coarsened as well)."""
    if timestamp_ms is None:
        return None
    value = action.apply(timestamp_ms)
    return value if isinstance(value, int) else None


def finest_kept_time(actions: Mapping[str, MetaAction]) -> tuple[str, float] | None:
    """The kept time field that tells the time most precisely: (path, seconds of precision)."""
    kept = [(path, a.seconds()) for path, a in actions.items() if a.kept]
    return min(kept, key=lambda item: item[1]) if kept else None
