"""The ports between the pipeline and the world: plain records in, a sink out, a schema source beside.

The pipeline (``streams.processor.pipeline``) depends on these protocols only. Adapters implement them at
the edge: ``streams.kafka.sink.KafkaSink`` (librdkafka), ``streams.kafka.registry.SchemaCache`` (the
registry), ``streams.memory_sink.MemorySink`` (tests). The Faust agent and the benchmarks drive any
:class:`BatchProcessor`: the in-process ``Pipeline`` or the ``OffloadedPipeline`` in a child process.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.errors import CrmAnonymizerError

Headers = list[tuple[str, bytes]]

#: Where the time of a batch goes, in order. queued: from the records' timestamps to the batch's start (broker,
#: fetch, the consumer's buffer and the batch window; the mean over the batch's records); state_read /
#: state_write: the subject-state tables in the worker; handoff: to the pipeline process and back (pickling,
#: scheduling); anonymize: decode, transforms, encode and starting the sends; output_drain / audit_drain: waiting
#: for the broker's answers to the outputs and to the audit events (and dead letters); audit: building them
#: (the PUBLISHED ones while the outputs are in flight, before output_drain) and sending them.
BATCH_STAGES = ("queued", "state_read", "handoff", "anonymize", "output_drain", "audit", "audit_drain", "state_write")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One consumed Kafka record, as bytes: what crosses from the consumer (and the process boundary)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)

    def __reduce__(self) -> tuple[type[RawRecord], tuple[Any, ...]]:
        # Pickled as a plain tuple: dataclasses' own __getstate__ (Python code per record) made the hand-off of
        # a 500-record batch to the pipeline process cost ~6 us per record in the Faust process; this, ~0.5 us.
        return (
            RawRecord,
            (self.topic, self.partition, self.offset, self.timestamp_ms, self.key, self.value, self.headers),
        )


@dataclass(slots=True)
class Delivery:
    """Filled in by the sink when the broker answers: ``error`` is the broker's error name, or None."""

    error: str | None = None


class DeliveryError(CrmAnonymizerError, RuntimeError):
    """Audit or dead-letter records could not be written: the batch must not be acknowledged."""


class Sink(Protocol):
    """Where output, audit and dead-letter records go."""

    def send(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers, timestamp_ms: int | None = None
    ) -> Delivery:
        """Start sending (buffered, in call order per partition). ``timestamp_ms``: the record's CreateTime."""

    async def drain(self) -> None:
        """Return once every record sent so far has an answer (see each Delivery); raise on timeout."""

    def close(self) -> None:
        """Flush what is left and release the client (called once, on shutdown)."""


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """A writer schema by id: its JSON form and fastavro's parsed form (reused for every decode)."""

    schema_id: int
    schema: Any
    parsed: Any


class SchemaSource(Protocol):
    """Writer schemas by id and registration of derived output schemas (a registry, cached)."""

    async def writer_schema(self, schema_id: int) -> WriterSchema:
        """The writer schema; raises AnonymizationError (unknown id, registry unavailable) otherwise."""

    async def register(self, subject: str, schema: Any, *, new_subject_compatibility: str | None = None) -> int:
        """Register or look up ``schema`` under ``subject``; raises RegistryError if the registry refuses."""


@dataclass(slots=True)
class BatchStats:
    """What one batch did, for logs and metrics (``streams.metrics``). Keys are topic names, source names and
    reason codes, never record contents. Crosses the process boundary (picklable)."""

    published: int = 0
    dead_lettered: int = 0
    audited: int = 0
    #: Subject states this batch changed (state key -> encoded state): the caller persists them before it
    #: acknowledges the batch.
    states: dict[bytes, bytes] = field(default_factory=dict)
    published_by_topic: dict[str, int] = field(default_factory=dict)
    dead_lettered_by: dict[tuple[str, str], int] = field(default_factory=dict)  # (topic, reason code)
    audited_by_topic: dict[str, int] = field(default_factory=dict)
    # Per policy source name; filled by the record-level privacy work (budget exhausted, k-suppressed records).
    budget_exhausted: dict[str, int] = field(default_factory=dict)
    k_suppressed: dict[str, int] = field(default_factory=dict)
    k_generalized: dict[str, int] = field(default_factory=dict)
    #: Per source name, how many events went out in a class of n other subjects (n capped at k).
    k_class_sizes: dict[str, dict[int, int]] = field(default_factory=dict)
    #: Per source topic, the k-anonymity classes this batch changed (class key -> encoded count): persisted by
    #: the caller before it acknowledges the batch, like ``states``.
    k_counts: dict[str, dict[bytes, bytes]] = field(default_factory=dict)
    # Registry calls that failed and were retried during the batch, and the seconds spent waiting on them.
    registry_errors: int = 0
    registry_stall_s: float = 0.0
    #: Seconds the batch spent in each stage (``BATCH_STAGES``): filled by the pipeline and the worker, observed
    #: as the ``batch_stage_seconds`` histogram (where the time of a batch goes).
    stages: dict[str, float] = field(default_factory=dict)

    def merged(self, other: BatchStats) -> BatchStats:
        """The stats of two consecutive parts of one batch (``other`` later: its states win)."""

        def add(a: dict[Any, Any], b: dict[Any, Any]) -> dict[Any, Any]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}

        return BatchStats(
            published=self.published + other.published,
            dead_lettered=self.dead_lettered + other.dead_lettered,
            audited=self.audited + other.audited,
            states={**self.states, **other.states},
            published_by_topic=add(self.published_by_topic, other.published_by_topic),
            dead_lettered_by=add(self.dead_lettered_by, other.dead_lettered_by),
            audited_by_topic=add(self.audited_by_topic, other.audited_by_topic),
            budget_exhausted=add(self.budget_exhausted, other.budget_exhausted),
            k_suppressed=add(self.k_suppressed, other.k_suppressed),
            k_generalized=add(self.k_generalized, other.k_generalized),
            k_class_sizes={
                name: add(self.k_class_sizes.get(name, {}), other.k_class_sizes.get(name, {}))
                for name in self.k_class_sizes.keys() | other.k_class_sizes.keys()
            },
            k_counts={
                topic: {**self.k_counts.get(topic, {}), **other.k_counts.get(topic, {})}
                for topic in self.k_counts.keys() | other.k_counts.keys()
            },
            registry_errors=self.registry_errors + other.registry_errors,
            registry_stall_s=self.registry_stall_s + other.registry_stall_s,
            stages=add(self.stages, other.stages),
        )

    def timed(self, stage: str, since: float) -> float:
        """Add the seconds from ``since`` (a ``time.perf_counter()``) to ``stage``; returns the time now."""
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + (now - since)
        return now

    def note_published(self, topic: str) -> None:
        self.published += 1
        self.published_by_topic[topic] = self.published_by_topic.get(topic, 0) + 1

    def note_dead_lettered(self, topic: str, reason: str) -> None:
        self.dead_lettered += 1
        self.dead_lettered_by[(topic, reason)] = self.dead_lettered_by.get((topic, reason), 0) + 1

    def note_audited(self, topic: str) -> None:
        self.audited += 1
        self.audited_by_topic[topic] = self.audited_by_topic.get(topic, 0) + 1


class BatchProcessor(Protocol):
    """Turns a batch of raw records into outputs, audits and dead letters; returns once they are delivered."""

    async def start(self) -> None:
        """Prepare (register audit/dead-letter schemas, start a child process) before the first batch."""

    async def process(self, records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None = None) -> BatchStats:
        """Every record gets one audit event and one of (output, dead letter); raises DeliveryError if the
        broker refused audit or dead-letter records (the batch must then not be acknowledged). ``states``: the
        stored subject states the batch's records need (by state key); changed ones come back in the stats."""

    async def load_counts(self, counts: Mapping[str, Mapping[bytes, bytes]]) -> None:
        """Replace the k-anonymity class counts (per source topic) by stored ones: after a restart or a
        rebalance, before the next batch."""

    def close(self) -> None:
        """Release clients and child processes (called once, on shutdown)."""
