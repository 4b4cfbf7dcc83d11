"""Prometheus metrics of the worker (prometheus-client), fed by the batch loop and the lag monitor.

Labels are source names (from the policy), topic names, partition numbers and reason codes: configuration
and stable codes, never record contents. No policy parameter and no key is exposed; the build info names the
policy by id, version and content hash only (what the audit trail already carries).

The pipeline never imports this module: it returns :class:`~streams.ports.BatchStats` and the parent process
(``streams.processor.app``) calls :meth:`WorkerMetrics.observe_batch`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from streams import __version__
from streams.ports import BATCH_STAGES, BatchStats, RawRecord

NAMESPACE = "crm_anon"
UNKNOWN_SOURCE = "unknown"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
BATCH_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)
BATCH_SIZE_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
K_CLASS_BUCKETS = (0, 1, 2, 3, 4, 5, 10, 20, 50, 100)


class WorkerMetrics:
    """Every metric of one worker, in its own registry (so tests can build several)."""

    def __init__(self, sources_by_topic: Mapping[str, str], registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._source_of = dict(sources_by_topic)
        counter, gauge, histogram = self._counter, self._gauge, self._histogram
        by_source, by_partition = ("source",), ("topic", "partition")
        self.consumed = counter("events_consumed", "Events taken from source topics.", by_source)
        self.published = counter("events_published", "Anonymized events the broker accepted.", by_source)
        self.dead_lettered = counter(
            "events_dead_lettered", "Events sent to the dead-letter topic.", ("source", "reason")
        )
        self.audited = counter("audit_events", "Audit events written.", by_source)
        self.budget_exhausted = counter(
            "dp_budget_exhausted", "Records refused because a DP budget is spent.", by_source
        )
        self.k_suppressed = counter(
            "k_anonymity_suppressed", "Published events whose quasi-identifiers were suppressed for k.", by_source
        )
        self.k_generalized = counter(
            "k_anonymity_generalized", "Published events whose quasi-identifiers were coarsened for k.", by_source
        )
        self.k_class_size = Histogram(
            "k_anonymity_class_size",
            "Other subjects in the class each event of a k-anonymous source went out in (capped at k).",
            by_source,
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=K_CLASS_BUCKETS,
        )
        self.batch_size = histogram("batch_size", "Events per micro-batch.", BATCH_SIZE_BUCKETS)
        self.batch_seconds = histogram(
            "batch_processing_seconds",
            "Seconds from handing a batch to the pipeline until outputs, audits and dead letters are delivered.",
            BATCH_SECONDS_BUCKETS,
        )
        self.stage_seconds = Histogram(
            "batch_stage_seconds",
            "Seconds of a batch in each stage (streams.ports.BATCH_STAGES; queued: the mean age of its records "
            "when the batch starts).",
            ("stage",),
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=BATCH_SECONDS_BUCKETS,
        )
        self.latency = histogram(
            "end_to_end_latency_seconds", "Output delivered minus the input record's timestamp.", LATENCY_BUCKETS
        )
        self.lag_messages = gauge("consumer_lag_messages", "High watermark minus committed offset.", by_partition)
        self.lag_seconds = gauge(
            "consumer_lag_seconds", "Age of the oldest unprocessed record (0 when there is none).", by_partition
        )
        self.committed_offset = gauge("committed_offset", "The group's committed offset.", by_partition)
        self.registry_errors = counter(
            "registry_errors", "Failed registry calls (retried by the pipeline, or probes).", ("where",)
        )
        self.registry_stall = counter(
            "registry_stall_seconds", "Seconds the pipeline waited on an unavailable registry."
        )
        self.batch_in_flight = gauge(
            "batch_in_flight_seconds", "Seconds the current batch has been in the pipeline (0: idle)."
        )
        self.child_starts = counter("pipeline_child_starts", "Pipeline child processes started by this worker.")
        self.child_restarts = counter(
            "pipeline_child_restarts",
            "Pipeline child processes restarted after dying (the record that killed one is isolated and "
            "dead-lettered as processor.crashed).",
        )
        self.assigned_partitions = gauge("assigned_partitions", "Source partitions assigned to this worker.")
        self.build = Info("build", "Version and policy of this worker.", namespace=NAMESPACE, registry=self.registry)
        self.build.info({"version": __version__, "policy_id": "", "policy_version": "", "policy_hash": ""})
        for source in {*self._source_of.values(), UNKNOWN_SOURCE}:
            for per_source in (
                self.consumed,
                self.published,
                self.audited,
                self.budget_exhausted,
                self.k_suppressed,
                self.k_generalized,
            ):
                per_source.labels(source)  # present at 0 from the start, so rate() and alerts see the series
        for where in ("pipeline", "probe"):
            self.registry_errors.labels(where)

    def _counter(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(name, doc, labels, namespace=NAMESPACE, registry=self.registry)

    def _gauge(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, doc, labels, namespace=NAMESPACE, registry=self.registry)

    def _histogram(self, name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
        return Histogram(name, doc, namespace=NAMESPACE, registry=self.registry, buckets=buckets)

    def set_policy(self, policy_id: str, version: int, content_hash: str) -> None:
        self.build.info(
            {
                "version": __version__,
                "policy_id": policy_id,
                "policy_version": str(version),
                "policy_hash": content_hash,
            }
        )

    def source(self, topic: str) -> str:
        return self._source_of.get(topic, UNKNOWN_SOURCE)

    def observe_batch(
        self, records: Sequence[RawRecord], stats: BatchStats, seconds: float, now_s: float | None = None
    ) -> None:
        """One delivered batch: counts per source, sizes, time, and each record's end-to-end latency."""
        now_ms = (time.time() if now_s is None else now_s) * 1000.0
        self.batch_size.observe(len(records))
        self.batch_seconds.observe(seconds)
        for stage, spent in stats.stages.items():
            self.stage_seconds.labels(stage).observe(spent)
        consumed: dict[str, int] = {}
        for record in records:
            source = self.source(record.topic)
            consumed[source] = consumed.get(source, 0) + 1
            if record.timestamp_ms is not None and record.timestamp_ms > 0:
                self.latency.observe(max(0.0, (now_ms - record.timestamp_ms) / 1000.0))
        for source, n in consumed.items():
            self.consumed.labels(source).inc(n)
        for topic, n in stats.published_by_topic.items():
            self.published.labels(self.source(topic)).inc(n)
        for topic, n in stats.audited_by_topic.items():
            self.audited.labels(self.source(topic)).inc(n)
        for (topic, reason), n in stats.dead_lettered_by.items():
            self.dead_lettered.labels(self.source(topic), reason).inc(n)
        for name, n in stats.budget_exhausted.items():
            self.budget_exhausted.labels(name).inc(n)
        for name, n in stats.k_suppressed.items():
            self.k_suppressed.labels(name).inc(n)
        for name, n in stats.k_generalized.items():
            self.k_generalized.labels(name).inc(n)
        for name, sizes in stats.k_class_sizes.items():
            histogram = self.k_class_size.labels(name)
            for size, n in sizes.items():
                for _ in range(n):
                    histogram.observe(size)
        if stats.registry_errors:
            self.registry_errors.labels("pipeline").inc(stats.registry_errors)
        if stats.registry_stall_s:
            self.registry_stall.inc(stats.registry_stall_s)

    def note_stages(
        self, stats: BatchStats, records: Sequence[RawRecord], started: float, handed: float, now_s: float | None = None
    ) -> None:
        """The worker's own stages of a batch that began at ``started`` and went to the pipeline at ``handed``
        (``time.perf_counter()``): queued, state_read, and handoff (what the pipeline's own stages do not cover)."""
        stages = stats.stages
        now_ms = (time.time() if now_s is None else now_s) * 1000.0 - (time.perf_counter() - started) * 1000.0
        ages = [now_ms - r.timestamp_ms for r in records if r.timestamp_ms]
        stages["queued"] = max(0.0, sum(ages) / len(ages) / 1000.0) if ages else 0.0
        stages["state_read"] = handed - started
        inside = sum(stages.get(s, 0.0) for s in BATCH_STAGES if s not in ("queued", "state_read", "handoff"))
        stages["handoff"] = max(0.0, time.perf_counter() - handed - inside)

    def set_lag(self, topic: str, partition: int, committed: int, messages: int, seconds: float) -> None:
        labels = (topic, str(partition))
        self.committed_offset.labels(*labels).set(committed)
        self.lag_messages.labels(*labels).set(messages)
        self.lag_seconds.labels(*labels).set(seconds)
