"""The pipeline in a child process, so Faust's consumer and the anonymization work use two cores.

Measured here (``make bench``): in one process, Faust's per-event consume path (aiokafka fetch, events,
acks: ~230 us per event) and the pipeline (decode, transforms, encode, audit: ~200 us with the demo policy)
take turns on one core under the GIL. In a child process the pipeline of batch N runs while the parent's
event loop keeps fetching and buffering batch N+1. Records cross the process boundary as raw bytes (cheap
to pickle); the child owns everything stateful (compiled plans, registry cache, DP release caches, the
producer), and a single child keeps batches, and so per-partition order, sequential.

A batch is acknowledged by the parent only after the child returned, i.e. after the child's producer drained
outputs, audits and dead letters. If the child dies or reports a delivery failure, the parent stops without
committing (see ``app.py``).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import structlog

from streams.kafka.registry import COUNTERS
from streams.ports import BatchStats, RawRecord
from streams.processor.pipeline import Pipeline
from streams.settings import Settings

log = structlog.get_logger(__name__)

_pipeline: Pipeline | None = None
_loop: asyncio.AbstractEventLoop | None = None


def _init(settings: Settings) -> None:
    """Child initializer: build the pipeline once, with its own producer and event loop."""
    global _pipeline, _loop
    from streams import logging as app_logging
    from streams.policy.loader import load_policy
    from streams.processor.compose import build_pipeline, kafka_sink

    app_logging.configure(settings.log_level, settings.log_format)
    _pipeline = build_pipeline(settings, load_policy(settings.policy_file), kafka_sink(settings))
    _loop = asyncio.new_event_loop()
    _loop.run_until_complete(_pipeline.start())
    # Long-lived objects (compiled plans, OpenDP measurements, name lexicons) out of the collector's way,
    # and fewer young-generation passes: full collections over them were the worst latency stalls.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _ready() -> bool:
    return _pipeline is not None


def _process(records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None) -> BatchStats:
    assert _pipeline is not None and _loop is not None
    return COUNTERS.add_to(_loop.run_until_complete(_pipeline.process(records, states)))


def _close() -> None:
    if _pipeline is not None:
        _pipeline.close()


class OffloadedPipeline:
    """The :class:`~streams.ports.BatchProcessor` that runs :class:`Pipeline` in one spawned child process."""

    def __init__(self, settings: Settings) -> None:
        # spawn, not fork: the parent runs threads (librdkafka, asyncio) that a fork would copy half-way.
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_init, initargs=(settings,)
        )

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, _ready)

    async def process(self, records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None = None) -> BatchStats:
        result: Any = await asyncio.get_running_loop().run_in_executor(self._pool, _process, records, states)
        return result  # type: ignore[no-any-return]

    def close(self) -> None:
        """Flush the child's producer, then stop the child."""
        try:
            self._pool.submit(_close).result(timeout=60)
        except Exception as exc:  # a dead child has nothing left to flush
            log.warning("offload_close_failed", error=type(exc).__name__)
        self._pool.shutdown(wait=True, cancel_futures=True)
