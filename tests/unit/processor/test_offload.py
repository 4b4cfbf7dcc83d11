"""The offloaded pipeline survives a child that dies on a record, and errors cross the process boundary."""

from __future__ import annotations

import asyncio
import os
import pickle
from collections.abc import Sequence
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.errors import AnonymizationError, ProcessorError, ReasonCode, RegistryError, portable
from streams.ports import BatchStats, RawRecord
from streams.processor.offload import OffloadedPipeline
from streams.settings import Settings

KILL = b"kill-the-process"
KILL_ALWAYS = b"kill-even-when-rejected"
LIBRARY_ERROR = b"raise-a-library-error"


class FakePipeline:
    """Runs in the child: dies (os._exit, like a native crash) on a KILL record, raises an unpicklable
    library error on LIBRARY_ERROR, publishes everything else. Each record value is a k-anonymity "class" it
    counts; ``k_suppressed["t"]`` reports how many classes it knew before the batch."""

    def __init__(self) -> None:
        self.known: set[bytes] = set()

    async def start(self) -> None:
        return None

    async def load_counts(self, counts: Any) -> None:
        self.known = set(counts.get("t", {}))

    async def process(self, records: Sequence[RawRecord]) -> BatchStats:
        if any(r.value in (KILL, KILL_ALWAYS) for r in records):
            os._exit(1)
        if any(r.value == LIBRARY_ERROR for r in records):
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "payload quoted here"))
        known_before = len(self.known)
        self.known |= {r.value for r in records if r.value}
        return BatchStats(
            published=len(records),
            audited=len(records),
            k_suppressed={"t": known_before},
            k_counts={"t": {r.value: b"1" for r in records if r.value}},
        )

    async def reject(self, records: Sequence[RawRecord], error: AnonymizationError) -> BatchStats:
        assert error.code is ReasonCode.PROCESSOR_CRASHED
        if any(r.value == KILL_ALWAYS for r in records):
            os._exit(1)
        return BatchStats(dead_lettered=len(records), audited=len(records))

    def close(self) -> None:
        return None


def fake_factory(_settings: Settings) -> Any:
    return FakePipeline()


def records(values: list[bytes]) -> list[RawRecord]:
    return [RawRecord("t", 0, i, None, None, v) for i, v in enumerate(values)]


def run(pipeline: OffloadedPipeline, batch: list[RawRecord]) -> BatchStats:
    async def go() -> BatchStats:
        await pipeline.start()
        return await pipeline.process(batch)

    return asyncio.run(go())


@pytest.fixture
def offloaded() -> Any:
    pipeline = OffloadedPipeline(Settings(), factory=fake_factory)
    yield pipeline
    pipeline.close()


def test_the_record_that_kills_the_child_is_isolated_and_dead_lettered(offloaded: OffloadedPipeline) -> None:
    stats = run(offloaded, records([b"a", b"b", KILL, b"d"]))
    assert (stats.published, stats.dead_lettered, stats.audited) == (3, 1, 4)
    assert offloaded.restarts == 3  # after the batch, its half with the record, the record alone


def test_a_restarted_child_gets_the_k_counts_back(offloaded: OffloadedPipeline) -> None:
    async def go() -> tuple[BatchStats, BatchStats]:
        await offloaded.start()
        await offloaded.load_counts({"t": {b"stored": b"1"}})
        first = await offloaded.process(records([b"a"]))
        return first, await offloaded.process(records([b"b", KILL, b"c"]))

    first, second = asyncio.run(go())
    assert first.k_suppressed == {"t": 1}  # the loaded class
    assert offloaded.restarts == 3
    # Every restarted child knew the stored class and those of the batches and halves before it:
    # [b] after the first restart knew {stored, a}; [c] after two more knew {stored, a, b}.
    assert second.k_suppressed == {"t": 2 + 3}
    assert second.k_counts == {"t": {b"b": b"1", b"c": b"1"}}


def test_a_child_that_dies_on_everything_stops_the_worker(offloaded: OffloadedPipeline) -> None:
    with pytest.raises(ProcessorError, match="dead-lettering"):
        run(offloaded, records([KILL_ALWAYS]))


def test_an_unpicklable_library_error_reaches_the_parent_as_a_processor_error(offloaded: OffloadedPipeline) -> None:
    with pytest.raises(ProcessorError) as info:
        run(offloaded, records([LIBRARY_ERROR]))
    assert "KafkaException" in str(info.value)
    assert "payload quoted here" not in str(info.value)


def test_errors_survive_pickling() -> None:
    errors: list[Exception] = [
        AnonymizationError(ReasonCode.WRONG_TYPE, "field x is a string", field="x"),
        RegistryError("get_schema", 503, 50301),
        portable(KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))),
        portable(ValueError("a value")),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
        assert type(copy) is type(error) and str(copy) == str(error)
    assert "a value" not in str(errors[3])
