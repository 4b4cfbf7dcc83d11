"""The Faust agent's batch step: never acknowledge a batch whose records are not all delivered."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import NoReturn

import pytest

from streams.errors import ProcessorError
from streams.ports import BatchStats, RawRecord
from streams.processor.app import process_or_stop


class Stopped(Exception):
    pass


def stop() -> NoReturn:
    raise Stopped


class SlowPipeline:
    def __init__(self, seconds: float, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.finished = False

    async def start(self) -> None:
        return None

    async def process(self, records: Sequence[RawRecord]) -> BatchStats:
        await asyncio.sleep(self.seconds)
        if self.fail:
            raise ProcessorError("the pipeline process died while starting")
        self.finished = True
        return BatchStats(published=len(records))

    def close(self) -> None:
        return None


BATCH = [RawRecord("t", 0, 1, None, None, b"v")]


class Acks:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


def test_a_failed_batch_stops_without_returning_or_acknowledging() -> None:
    acks = Acks()
    with pytest.raises(Stopped):
        asyncio.run(process_or_stop(SlowPipeline(0, fail=True), BATCH, acknowledge=acks, stop=stop))
    assert acks.count == 0


def test_a_delivered_batch_is_acknowledged_after_its_state_is_stored() -> None:
    order: list[str] = []

    async def acknowledge() -> None:
        order.append("ack")

    stats = asyncio.run(
        process_or_stop(
            SlowPipeline(0), BATCH, persist=lambda _stats: order.append("persist"), acknowledge=acknowledge, stop=stop
        )
    )
    assert stats.published == 1
    assert order == ["persist", "ack"]


def test_a_cancelled_batch_finishes_before_the_cancellation_goes_on() -> None:
    """SIGTERM cancels the agent mid-batch: the batch is delivered and acknowledged, then the stop goes on."""
    pipeline = SlowPipeline(0.3)
    acks = Acks()

    async def go() -> None:
        task = asyncio.ensure_future(process_or_stop(pipeline, BATCH, acknowledge=acks, stop=stop))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert pipeline.finished
    assert acks.count == 1


def test_a_cancelled_batch_that_cannot_finish_stops_without_committing() -> None:
    pipeline = SlowPipeline(30)
    acks = Acks()

    async def go() -> None:
        task = asyncio.ensure_future(
            process_or_stop(pipeline, BATCH, acknowledge=acks, stop=stop, stop_batch_timeout_s=0.1)
        )
        await asyncio.sleep(0.05)
        task.cancel()
        await task

    with pytest.raises(Stopped):
        asyncio.run(go())
    assert not pipeline.finished
    assert acks.count == 0
