"""The Faust shell: one agent over all source topics, micro-batches into the pipeline.

Uses Faust's ``kafka://`` (aiokafka) transport to consume. Keys and values stay raw bytes in Faust: decoding
needs the schema id in each record, which the pipeline handles with the registry cache. Records are produced
through librdkafka (see ``sink.py`` for why).
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import faust
import structlog

from streams import logging as app_logging
from streams.errors import CrmAnonymizerError
from streams.kafka.config import faust_broker_config, faust_group_config
from streams.policy.loader import LoadedPolicy, load_policy
from streams.ports import BatchProcessor, BatchStats, RawRecord
from streams.processor.compose import build_pipeline, kafka_sink
from streams.processor.offload import OffloadedPipeline
from streams.settings import Settings

log = structlog.get_logger(__name__)

# How long a stopping worker lets the current batch finish before it exits without committing.
STOP_BATCH_TIMEOUT_S = 30.0


def _exit_without_commit() -> NoReturn:
    os._exit(70)


async def process_or_stop(
    pipeline: BatchProcessor,
    records: Sequence[RawRecord],
    *,
    stop: Callable[[], NoReturn] = _exit_without_commit,
    stop_batch_timeout_s: float = STOP_BATCH_TIMEOUT_S,
) -> BatchStats:
    """One batch through ``pipeline``; returns only once its outputs, audits and dead letters are delivered.

    Faust's ``take_events`` acknowledges the batch in a ``finally`` block, whatever happens in the loop body,
    so the offsets of records that have neither an output nor a dead letter would be committed (a delivery
    failure, a bug, and a stop: SIGTERM cancels the agent mid-batch). So: a failure stops the process without
    committing (on restart the batch is processed again: at-least-once), and a cancellation first lets the
    batch finish (bounded), so what gets acknowledged is delivered; if it cannot finish, the process stops
    without committing.
    """
    task = asyncio.ensure_future(pipeline.process(records))
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


def create_app(settings: Settings, loaded: LoadedPolicy | None = None) -> faust.App:
    loaded = loaded or load_policy(settings.policy_file)
    datadir = settings.state_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    app = faust.App(
        settings.app_id,
        **faust_broker_config(settings.connection),
        **faust_group_config(settings.session_timeout_s, settings.group_instance_id),
        store="memory://",
        datadir=str(datadir),
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1 if settings.local_services else settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=max(1000, settings.batch_size * 2),
        broker_commit_every=10_000,
        stream_buffer_maxsize=max(4096, settings.batch_size * 4),
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        web_bind=settings.web_bind,
    )
    importlib.import_module("faust.transport.drivers.aiokafka")  # loaded lazily by the worker: loggers first
    app_logging.rate_limit_library_logs()
    pipeline: BatchProcessor
    if settings.offload:
        pipeline = OffloadedPipeline(settings.model_copy(update={"policy_file": loaded.path}))
    else:
        pipeline = build_pipeline(settings, loaded, kafka_sink(settings))

    async def close_pipeline(_app: Any, *_args: Any, **_kwargs: Any) -> None:
        await asyncio.to_thread(pipeline.close)  # flush the producer, stop the child

    # Faust's stub types the receiver as a union of callables that mypy cannot match.
    app.on_before_shutdown.connect(close_pipeline)  # type: ignore[arg-type]

    source_topics = [s.topic for s in loaded.policy.sources]
    source = app.topic(*source_topics, key_serializer="raw", value_serializer="raw")
    within = settings.batch_window_ms / 1000.0

    @app.agent(source, name="anonymize")
    async def anonymize(stream: faust.StreamT[bytes]) -> None:
        await pipeline.start()
        # take_events (not take): the pipeline needs each record's topic, partition, offset and headers.
        async for events in stream.take_events(settings.batch_size, within=within):  # type: ignore[attr-defined]
            records = [
                RawRecord(
                    topic=e.message.topic,
                    partition=e.message.partition,
                    offset=e.message.offset,
                    timestamp_ms=int(e.message.timestamp * 1000) if e.message.timestamp else None,
                    key=e.message.key,
                    value=e.message.value,
                    headers=[(k, bytes(v or b"")) for k, v in (e.message.headers or [])],
                )
                for e in events
            ]
            stats = await process_or_stop(pipeline, records)
            log.debug("batch", size=len(records), published=stats.published, dead_lettered=stats.dead_lettered)

    return app
