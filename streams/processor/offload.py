"""The pipeline in a child process, so Faust's consumer and the anonymization work use two cores.

Measured here (``make bench``): in one process, Faust's per-event consume path (aiokafka fetch, events,
acks: ~230 us per event) and the pipeline (decode, transforms, encode, audit: ~200 us with the demo policy)
take turns on one core under the GIL. In a child process the pipeline of batch N runs while the parent's
event loop keeps fetching and buffering batch N+1. Records cross the process boundary as raw bytes (cheap
to pickle); the child owns everything stateful (compiled plans, registry cache, DP release caches, the
producer), and a single child keeps batches, and so per-partition order, sequential.

A batch is acknowledged by the parent only after the child returned, i.e. after the child's producer drained
outputs, audits and dead letters. If the child reports a delivery failure, the parent stops without committing
(see ``app.py``). If the child dies (a native crash, the OOM killer), it is restarted and the batch bisected
until the record that kills it is alone; that record is dead-lettered (``processor.crashed``) by a fresh
child and the rest are processed: one record never stops the worker. Only a child that dies on every
restart (its budget is a bisection's worth per batch) or at start-up stops it. Errors cross the process
boundary as :func:`streams.errors.portable` errors (they pickle, they hold no value). The child exits when
its parent is gone (a watchdog thread), so a SIGKILLed worker leaves no process behind.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import structlog

from streams.errors import AnonymizationError, ProcessorError, ReasonCode, portable
from streams.kafka.registry import COUNTERS
from streams.ports import BatchStats, RawRecord
from streams.processor.gc_policy import FullCollections, freeze_start_up_objects
from streams.processor.pipeline import Pipeline
from streams.settings import Settings

log = structlog.get_logger(__name__)

_pipeline: Pipeline | None = None
_loop: asyncio.AbstractEventLoop | None = None
_full_collections: FullCollections | None = None

PipelineFactory = Callable[[Settings], Pipeline]
CLOSE_TIMEOUT_S = 30.0


def default_factory(settings: Settings) -> Pipeline:
    from streams.policy.loader import load_policy
    from streams.processor.compose import build_pipeline, kafka_sink

    return build_pipeline(settings, load_policy(settings.policy_file), kafka_sink(settings))


def _watch_parent(parent: int) -> None:
    """Exit once the parent is gone (SIGKILLed): an orphan would hold a producer and a registry client."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _init(settings: Settings, factory: PipelineFactory, parent: int) -> None:
    """Child initializer: build the pipeline once, with its own producer and event loop."""
    global _pipeline, _loop, _full_collections
    from streams import logging as app_logging

    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watchdog", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the child stops
    app_logging.configure(settings.log_level, settings.log_format)
    _pipeline = factory(settings)
    _loop = new_event_loop(settings.event_loop)
    _loop.run_until_complete(_pipeline.start())
    freeze_start_up_objects()
    _full_collections = FullCollections()


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()


def _ready() -> int:
    return os.getpid() if _pipeline is not None else 0


def _process(records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None = None) -> BatchStats:
    assert _pipeline is not None and _loop is not None
    try:
        run = _pipeline.process(records) if states is None else _pipeline.process(records, states)
        return COUNTERS.add_to(_loop.run_until_complete(run))
    except Exception as exc:
        raise portable(exc) from None
    finally:
        if _full_collections is not None:
            _full_collections.maybe_collect()  # once a minute, on this batch (about a millisecond)


def _load_counts(counts: Mapping[str, Mapping[bytes, bytes]]) -> None:
    assert _pipeline is not None and _loop is not None
    _loop.run_until_complete(_pipeline.load_counts(counts))


def _reject(records: Sequence[RawRecord]) -> BatchStats:
    """Dead-letter records that killed a child, without touching their content."""
    assert _pipeline is not None and _loop is not None
    error = AnonymizationError(ReasonCode.PROCESSOR_CRASHED, "the pipeline process died on this record")
    try:
        return _loop.run_until_complete(_pipeline.reject(records, error))
    except Exception as exc:
        raise portable(exc) from None


def _close() -> None:
    if _pipeline is not None:
        _pipeline.close()


class OffloadedPipeline:
    """The :class:`~streams.ports.BatchProcessor` that runs :class:`Pipeline` in one spawned child process."""

    def __init__(self, settings: Settings, factory: PipelineFactory = default_factory) -> None:
        self._settings = settings
        self._factory = factory
        self._pool = self._new_pool()
        self._child_pid = 0
        self.restarts = 0  # a metric: child processes restarted after dying
        # The k-anonymity counts as the child holds them (loaded, plus what each batch changed): a restarted
        # child gets them back before it processes anything.
        self._counts: dict[str, dict[bytes, bytes]] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent runs threads (librdkafka, asyncio) that a fork would copy half-way.
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(self._settings, self._factory, os.getpid()),
        )

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def start(self) -> None:
        try:
            self._child_pid = await self._run(_ready)
        except BrokenProcessPool:
            raise ProcessorError("the pipeline process died while starting") from None

    async def _restart(self) -> None:
        self.restarts += 1
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        await self.start()
        if self._counts:
            await self._run(_load_counts, self._counts)

    async def load_counts(self, counts: Mapping[str, Mapping[bytes, bytes]]) -> None:
        self._counts = {topic: dict(entries) for topic, entries in counts.items()}
        await self._run(_load_counts, self._counts)

    async def _process_once(self, records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None) -> BatchStats:
        result: BatchStats = await self._run(_process, records, states)
        for topic, changed in result.k_counts.items():
            self._counts.setdefault(topic, {}).update(changed)
        return result

    async def process(self, records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None = None) -> BatchStats:
        try:
            return await self._process_once(records, states)
        except BrokenProcessPool:
            log.error("offload_child_died", batch=len(records), restarts=self.restarts)
        # Enough restarts to bisect the batch down to one record, and no more: a child that dies on every
        # record (or on start-up) is not a poison record, it is the environment.
        budget = [2 * math.ceil(math.log2(max(len(records), 1))) + 2]
        await self._restart_within(budget)
        return await self._bisect(records, budget, states)

    async def _restart_within(self, budget: list[int]) -> None:
        if budget[0] <= 0:
            raise ProcessorError("the pipeline process keeps dying; giving up on this batch")
        budget[0] -= 1
        await self._restart()

    async def _isolate(
        self, records: Sequence[RawRecord], budget: list[int], states: Mapping[bytes, bytes] | None
    ) -> BatchStats:
        try:
            return await self._process_once(records, states)
        except BrokenProcessPool:
            await self._restart_within(budget)
        return await self._bisect(records, budget, states)

    async def _bisect(
        self, records: Sequence[RawRecord], budget: list[int], states: Mapping[bytes, bytes] | None = None
    ) -> BatchStats:
        """``records`` killed the child: halves in order, down to the record that does, which is rejected."""
        if len(records) == 1:
            log.error(
                "offload_poison_record",
                topic=records[0].topic,
                partition=records[0].partition,
                offset=records[0].offset,
            )
            try:
                rejected: BatchStats = await self._run(_reject, records)
                return rejected
            except BrokenProcessPool:
                raise ProcessorError("the pipeline process died dead-lettering a record") from None
        mid = len(records) // 2
        first = await self._isolate(records[:mid], budget, states)
        # The second half sees the subject states as the first half left them.
        later = None if states is None else {**states, **first.states}
        second = await self._isolate(records[mid:], budget, later)
        return first.merged(second)

    def close(self) -> None:
        """Flush the child's producer, then stop the child; a child that does not finish in time (stalled on
        a dependency) is terminated, so a graceful stop leaves no process behind."""
        try:
            self._pool.submit(_close).result(timeout=CLOSE_TIMEOUT_S)
        except Exception as exc:  # a dead or stalled child has nothing left to flush
            log.warning("offload_close_failed", error=type(exc).__name__)
            self._terminate_child()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _terminate_child(self) -> None:
        if not self._child_pid:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(self._child_pid, sig)
            except ProcessLookupError:
                return
            time.sleep(1.0)
