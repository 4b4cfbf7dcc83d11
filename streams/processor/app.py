"""The Faust shell: one agent over all source topics, micro-batches into the pipeline.

Uses Faust's ``kafka://`` (aiokafka) transport to consume. Keys and values stay raw bytes in Faust: decoding
needs the schema id in each record, which the pipeline handles with the registry cache. Records are produced
through librdkafka (see ``sink.py`` for why).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn

import faust
import structlog

from streams import logging as app_logging
from streams.errors import ConfigError, CrmAnonymizerError
from streams.health import STALLED_EXIT_CODE, WorkerHealth
from streams.k_anonymity import uses_k_anonymity
from streams.kafka.admin import topic_partitions
from streams.kafka.config import faust_broker_config, faust_group_config
from streams.kafka.lag import LagMonitor, PartitionLag
from streams.kafka.registry import COUNTERS
from streams.metrics import WorkerMetrics
from streams.policy.loader import LoadedPolicy, load_policy
from streams.ports import BatchProcessor, BatchStats, RawRecord
from streams.processor.batching import BatchCollector
from streams.processor.compose import build_pipeline, kafka_sink, state_secret
from streams.processor.gc_policy import FullCollections
from streams.processor.offload import OffloadedPipeline
from streams.processor.ops_http import OpsServer
from streams.processor.state import KCountTables, SubjectStateTables, rocksdb_table_options
from streams.settings import Settings
from streams.subject_state import uses_subject_state

log = structlog.get_logger(__name__)

# How long a stopping worker lets the current batch finish before it exits without committing.
STOP_BATCH_TIMEOUT_S = 30.0


def _exit_without_commit() -> NoReturn:
    os._exit(70)


def _exit_stalled() -> NoReturn:
    os._exit(STALLED_EXIT_CODE)


async def process_or_stop(
    pipeline: BatchProcessor,
    records: Sequence[RawRecord],
    *,
    states: Mapping[bytes, bytes] | None = None,
    persist: Callable[[BatchStats], None] | None = None,
    acknowledge: Callable[[], Awaitable[None]] | None = None,
    stop: Callable[[], NoReturn] = _exit_without_commit,
    stop_batch_timeout_s: float = STOP_BATCH_TIMEOUT_S,
) -> BatchStats:
    """One batch through ``pipeline``; returns only once its outputs, audits and dead letters are delivered.

    A batch must be acknowledged only once every record has an output or a dead letter on the broker. So: a
    failure stops the process without committing (on restart the batch is processed again: at-least-once),
    and a cancellation mid-batch (the agent stopped while a batch is in the pipeline; Faust normally waits for
    the acknowledgements first) lets the batch finish (bounded), so what was delivered gets acknowledged; if it
    cannot finish, the process stops without committing. ``states`` are the
    subject states the batch needs; ``persist`` stores what the batch changed (the subject-state tables) and
    then ``acknowledge`` acks its events, both inside the same shielded task, after delivery.
    """

    async def batch() -> BatchStats:
        stats = await (pipeline.process(records) if states is None else pipeline.process(records, states))
        if persist is not None:
            persist(stats)
        if acknowledge is not None:
            await acknowledge()
        return stats

    task = asyncio.ensure_future(batch())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        log.info("stopping_after_current_batch", size=len(records))
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=stop_batch_timeout_s)
        except BaseException as exc:
            log.critical("batch_unfinished_at_stop", error=type(exc).__name__)
            task.cancel()
            stop()
        raise
    except Exception as exc:
        # Our own errors never hold values (the CrmAnonymizerError contract), so their message is logged;
        # anything else (a library error) by type alone.
        ours = isinstance(exc, CrmAnonymizerError)
        log.critical("batch_failed_stopping", error=type(exc).__name__, detail=str(exc)[:200] if ours else "")
        stop()


def create_app(
    settings: Settings, loaded: LoadedPolicy | None = None, partitions: Mapping[str, int] | None = None
) -> faust.App:
    """The Faust app. ``partitions``: the partition count of each source topic (asked of the broker if not
    given); the subject-state tables must have as many partitions as their source."""
    loaded = loaded or load_policy(settings.policy_file)
    # One directory per app id: the RocksDB files of the subject-state tables are named by table, and each
    # app's tables belong to its own changelog topics (a shared directory mixes their persisted offsets).
    datadir = settings.state_dir / "faust" / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    stateful = uses_subject_state(loaded.policy) or uses_k_anonymity(loaded.policy)
    app = faust.App(
        settings.app_id,
        **faust_broker_config(settings.connection),
        **faust_group_config(settings.session_timeout_s, settings.group_instance_id),
        store=settings.state_store if stateful else "memory://",
        datadir=str(datadir),
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1 if settings.local_services else settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=settings.max_poll_records or max(1000, settings.batch_size * 2),
        broker_commit_every=10_000,
        stream_buffer_maxsize=max(4096, settings.batch_size * 4),
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        web_bind=settings.web_bind,
    )
    importlib.import_module("faust.transport.drivers.aiokafka")  # loaded lazily by the worker: loggers first
    app_logging.rate_limit_library_logs()
    source_topics = [s.topic for s in loaded.policy.sources]
    metrics = WorkerMetrics({s.topic: s.name for s in loaded.policy.sources})
    metrics.set_policy(loaded.policy.id, loaded.policy.version, loaded.content_hash)
    health = WorkerHealth(max_silence_s=settings.ready_max_silence_s)
    ops = _start_ops(settings, source_topics, metrics, health)
    pipeline: BatchProcessor
    if settings.offload:
        pipeline = OffloadedPipeline(settings.model_copy(update={"policy_file": loaded.path}))
    else:
        pipeline = build_pipeline(settings, loaded, kafka_sink(settings))

    async def close_pipeline(_app: Any, *_args: Any, **_kwargs: Any) -> None:
        await asyncio.to_thread(pipeline.close)  # flush the producer, stop the child
        for stop in ops:
            stop()

    counts_stale = [True]  # the k-anonymity counts must be (re)loaded into the pipeline before the next batch

    async def on_assigned(_app: Any, assigned: Any = (), **_kwargs: Any) -> None:
        counts_stale[0] = True
        count = len([tp for tp in _app.consumer.assignment() if tp.topic in source_topics])
        health.note_assigned(count)
        metrics.assigned_partitions.set(count)

    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]

    async def on_revoked(_app: Any, *_args: Any, **_kwargs: Any) -> None:
        health.assigned = 0  # a rebalance is under way; the assignment signal follows

    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]

    full_collections = FullCollections()

    @app.timer(1.0)  # type: ignore[untyped-decorator]  # Faust's timer decorator has no type hints
    async def heartbeat() -> None:
        health.tick()
        full_collections.maybe_collect()
        # Seen rarely after a restart or rebalance: Faust assigns the partitions, then never hands the agent
        # a batch (no error; the event loop idle). Exiting lets the supervisor start a fresh consumer.
        stalled = health.consumer_stalled_s(settings.stall_timeout_s, 3 * settings.lag_interval_s)
        if settings.stall_timeout_s and stalled:
            log.critical(
                "consumer_stalled_exiting",
                idle_s=round(stalled, 1),
                lag_messages=health.lag_messages,
                assigned=health.assigned,
            )
            _exit_stalled()

    async def log_assignment(_app: Any, assigned: Any = (), *_args: Any, **_kwargs: Any) -> None:
        log.info("partitions_assigned", partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))

    # Faust's stub types the receivers as a union of callables that mypy cannot match.
    app.on_before_shutdown.connect(close_pipeline)  # type: ignore[arg-type]
    app.on_partitions_assigned.connect(log_assignment)  # type: ignore[arg-type]

    source = app.topic(*source_topics, key_serializer="raw", value_serializer="raw")
    if stateful and partitions is None:
        partitions = topic_partitions(settings.connection, source_topics)
    store_options = (
        rocksdb_table_options(settings.state_cache_mb, settings.state_write_buffer_mb)
        if settings.state_store == "rocksdb://"
        else None
    )
    tables = (
        SubjectStateTables(app, loaded.policy, partitions or {}, state_secret(settings), store_options)
        if uses_subject_state(loaded.policy)
        else None
    )
    k_tables = (
        KCountTables(app, loaded.policy, partitions or {}, store_options) if uses_k_anonymity(loaded.policy) else None
    )
    within = settings.batch_window_ms / 1000.0

    @app.agent(source, name="anonymize")
    async def anonymize(stream: faust.StreamT[bytes]) -> None:
        await pipeline.start()
        if settings.offload:
            metrics.child_starts.inc()
        # Acks are ours: an event is acknowledged once its batch is delivered (see batching.py).
        manual = stream.noack()  # type: ignore[attr-defined]  # on Stream, missing from StreamT
        batches: BatchCollector[tuple[Any, RawRecord]] = BatchCollector(
            settings.batch_size, within, limit=2 * settings.batch_size
        )
        processing = asyncio.ensure_future(process_batches(manual, batches))
        try:
            async for event in manual.events():
                await batches.put((event, raw_record(event.message)))
        except Exception as exc:
            # Faust would restart the agent on the same consumer, past the collected records that were never
            # acknowledged: they would come back only after a restart, behind newer ones (order, ledgers).
            log.critical("agent_failed_stopping", error=type(exc).__name__)
            _exit_without_commit()
        finally:
            # On a stop Faust first waits until every consumed message is acknowledged (consumer.wait_empty),
            # so the collector has been drained by the time the agent is cancelled; a cancellation that comes
            # mid-batch anyway lets the batch finish (process_or_stop). What is not acknowledged is not committed.
            processing.cancel()

    async def process_batches(manual: Any, batches: BatchCollector[tuple[Any, RawRecord]]) -> None:
        try:
            while True:
                taken = await batches.take()
                events = [event for event, _ in taken]
                await process_batch(manual, events, [record for _, record in taken])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # outside a batch (state tables, metrics): nothing of the batch is acknowledged
            log.critical("batch_loop_failed_stopping", error=type(exc).__name__)
            _exit_without_commit()

    seen_restarts = [0]

    async def process_batch(manual: Any, events: list[Any], records: list[RawRecord]) -> None:
        if k_tables and counts_stale[0]:
            # Streams resume only once the tables are recovered, so this reads the restored counts.
            await pipeline.load_counts(k_tables.read_all())
            counts_stale[0] = False
        health.batch_started()
        started = time.perf_counter()

        def persist(stats: BatchStats) -> None:
            # Before the batch is acknowledged: subject states and class counts the batch changed.
            clock = time.perf_counter()
            if tables and stats.states:
                tables.write(events, stats.states)
            if k_tables and stats.k_counts:
                k_tables.write(events, stats.k_counts)
            stats.timed("state_write", clock)

        states = tables.read(events) if tables else None
        handed = time.perf_counter()

        async def acknowledge() -> None:
            for event in events:
                await manual.ack(event)

        stats = await process_or_stop(pipeline, records, states=states, persist=persist, acknowledge=acknowledge)
        health.batch_done()
        metrics.note_stages(stats, records, started, handed)
        restarts = getattr(pipeline, "restarts", 0)  # the offloaded pipeline restarts a child that died
        if restarts > seen_restarts[0]:
            metrics.child_restarts.inc(restarts - seen_restarts[0])
            seen_restarts[0] = restarts
        metrics.observe_batch(records, COUNTERS.add_to(stats), time.perf_counter() - started)
        log.debug("batch", size=len(records), published=stats.published, dead_lettered=stats.dead_lettered)

    return app


def raw_record(message: Any) -> RawRecord:
    """A Faust (aiokafka) message as the pipeline's plain record."""
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
        key=message.key,
        value=message.value,
        headers=[(k, bytes(v or b"")) for k, v in (message.headers or [])],
    )


def _start_ops(
    settings: Settings, source_topics: list[str], metrics: WorkerMetrics, health: WorkerHealth
) -> list[Callable[[], None]]:
    """The metrics/health server and the lag monitor; returns their stop functions."""
    if not settings.metrics_enabled:
        return []

    def on_lag(rows: list[PartitionLag]) -> None:
        for row in rows:
            metrics.set_lag(row.topic, row.partition, row.committed, row.messages, row.seconds)
        health.note_lag(sum(row.messages for row in rows))

    def on_broker() -> None:
        health.broker_ok = time.monotonic()

    def on_registry(ok: bool) -> None:
        if ok:
            health.registry_ok = time.monotonic()
        else:
            metrics.registry_errors.labels("probe").inc()

    try:
        server = OpsServer(settings.metrics_bind, settings.metrics_port, metrics, health)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {settings.metrics_bind}:{settings.metrics_port} ({exc.strerror}); "
            "set CRM_ANON_METRICS_PORT / CRM_ANON_METRICS_BIND"
        ) from None
    monitor = LagMonitor(
        settings.connection,
        settings.app_id,
        source_topics,
        interval_s=settings.lag_interval_s,
        on_lag=on_lag,
        on_broker=on_broker,
        on_registry=on_registry,
    )
    server.start()
    monitor.start()
    log.info("ops_endpoint", bind=settings.metrics_bind, port=server.port, paths="/metrics /healthz /readyz")
    return [monitor.stop, server.stop]
