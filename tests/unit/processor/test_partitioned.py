"""Several pipeline children: partitions split stably, order kept per partition, k-anonymity topics whole."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from streams.errors import ConfigError
from streams.k_anonymity import k_anonymity_topics
from streams.policy.loader import LoadedPolicy
from streams.policy.model import KAnonymity
from streams.ports import BatchStats, DeliveryError, RawRecord
from streams.processor.app import _pipeline_for
from streams.processor.offload import OffloadedPipeline
from streams.processor.partitioned import PartitionedPipeline, child_for, topic_owner
from streams.settings import Settings
from tests.unit.processor.test_offload import KILL, fake_factory


class RecordingChild:
    """An in-process child: remembers what it was given, publishes everything, reports its stage time."""

    def __init__(self, seconds: float = 0.0, fail: bool = False) -> None:
        self.batches: list[list[RawRecord]] = []
        self.states: list[Mapping[bytes, bytes] | None] = []
        self.counts: Mapping[str, Mapping[bytes, bytes]] | None = None
        self.started = self.closed = False
        self.seconds = seconds
        self.fail = fail
        self.restarts = 1

    async def start(self) -> None:
        self.started = True

    async def load_counts(self, counts: Mapping[str, Mapping[bytes, bytes]]) -> None:
        self.counts = counts

    async def process(self, records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None = None) -> BatchStats:
        self.batches.append(list(records))
        self.states.append(states)
        await asyncio.sleep(self.seconds)
        if self.fail:
            raise DeliveryError("2 audit/dead-letter records not written")
        stats = BatchStats(audited=len(records), stages={"anonymize": self.seconds})
        for record in records:
            stats.note_published(record.topic)
        stats.states = {f"{record.topic}/{record.partition}".encode(): b"s" for record in records}
        return stats

    def close(self) -> None:
        self.closed = True


def batch(spec: list[tuple[str, int]]) -> list[RawRecord]:
    return [RawRecord(topic, partition, offset, None, b"k", b"v") for offset, (topic, partition) in enumerate(spec)]


def test_a_partition_always_has_the_same_owner_and_partitions_spread_over_the_children() -> None:
    owners = {p: child_for(RawRecord("crm.contacts", p, 0, None, None, None), 3, ()) for p in range(6)}
    assert sorted(owners.values()) == [0, 0, 1, 1, 2, 2]  # consecutive partitions, consecutive children
    # A function of topic and partition alone (no process-salted hash): the same in any process, any run.
    assert owners == {p: child_for(RawRecord("crm.contacts", p, 99, 5, b"x", b"y"), 3, ()) for p in range(6)}


def test_a_pinned_topic_goes_whole_to_one_child() -> None:
    owners = {child_for(RawRecord("crm.leads", p, 0, None, None, None), 3, {"crm.leads"}) for p in range(6)}
    assert owners == {topic_owner("crm.leads", 3)}


def test_each_child_gets_its_partitions_in_arrival_order_and_the_stats_add_up() -> None:
    children = [RecordingChild(), RecordingChild()]
    pipeline = PartitionedPipeline(children)
    records = batch([("t", 0), ("t", 1), ("t", 0), ("t", 2), ("t", 1), ("t", 0)])
    stats = asyncio.run(pipeline.process(records, {b"any": b"state"}))

    given = [r for child in children for part in child.batches for r in part]
    assert sorted(r.offset for r in given) == list(range(6))  # every record once
    for child in children:
        for part in child.batches:
            for partition in {r.partition for r in part}:
                offsets = [r.offset for r in part if r.partition == partition]
                assert offsets == sorted(offsets)
            assert all(child_for(r, 2, ()) == children.index(child) for r in part)
    assert all(len(child.batches) == 1 for child in children)  # three partitions over two children
    assert children[0].states == children[1].states == [{b"any": b"state"}]
    assert (stats.published, stats.audited, stats.published_by_topic) == (6, 6, {"t": 6})
    assert set(stats.states) == {b"t/0", b"t/1", b"t/2"}


def test_the_parts_run_at_the_same_time_and_a_stage_lasts_as_long_as_the_slower_part() -> None:
    children = [RecordingChild(seconds=0.3), RecordingChild(seconds=0.1)]
    pipeline = PartitionedPipeline(children)
    records = batch([("t", p) for p in range(4)])
    loop = asyncio.new_event_loop()
    began = loop.time()
    stats = loop.run_until_complete(pipeline.process(records))
    took = loop.time() - began
    loop.close()
    assert took < 0.39  # not 0.3 + 0.1 one after the other
    assert stats.stages == {"anonymize": 0.3}


def test_counts_go_to_the_owner_of_their_topic_only() -> None:
    children = [RecordingChild(), RecordingChild(), RecordingChild()]
    pipeline = PartitionedPipeline(children, pinned_topics={"crm.leads", "crm.contacts"})
    counts = {"crm.leads": {b"c1": b"n"}, "crm.contacts": {b"c2": b"n"}}
    asyncio.run(pipeline.load_counts(counts))
    for topic, entries in counts.items():
        owner = children[topic_owner(topic, 3)]
        assert owner.counts is not None and owner.counts[topic] == entries
    for i, child in enumerate(children):
        assert child.counts is not None
        assert set(child.counts) == {t for t in counts if topic_owner(t, 3) == i}


def test_a_failing_part_fails_the_batch() -> None:
    pipeline = PartitionedPipeline([RecordingChild(), RecordingChild(fail=True)])
    records = batch([("t", p) for p in range(4)])
    with pytest.raises(DeliveryError):
        asyncio.run(pipeline.process(records))


def test_start_close_and_restarts_cover_every_child() -> None:
    children = [RecordingChild(), RecordingChild()]
    pipeline = PartitionedPipeline(children)
    asyncio.run(pipeline.start())
    pipeline.close()
    assert all(c.started and c.closed for c in children)
    assert pipeline.restarts == 2
    with pytest.raises(ValueError):
        PartitionedPipeline([])


def test_two_child_processes_a_record_that_kills_one_is_dead_lettered_and_the_other_part_published() -> None:
    children = [OffloadedPipeline(Settings(), factory=fake_factory) for _ in range(2)]
    pipeline = PartitionedPipeline(children)
    records = [RawRecord("t", p, o, None, None, v) for o, (p, v) in enumerate([(0, b"a"), (1, b"b"), (0, KILL)])]

    async def go() -> BatchStats:
        await pipeline.start()
        return await pipeline.process(records)

    try:
        stats = asyncio.run(go())
    finally:
        pipeline.close()
    assert (stats.published, stats.dead_lettered, stats.audited) == (2, 1, 3)
    killed = children[child_for(records[2], 2, ())]
    spared = children[1 - child_for(records[2], 2, ())]
    assert killed.restarts >= 1 and spared.restarts == 0
    assert pipeline.restarts == killed.restarts


def test_settings_default_to_one_process() -> None:
    assert Settings().pipeline_processes == 1
    assert Settings(pipeline_processes=4).pipeline_processes == 4
    with pytest.raises(ValueError):
        Settings(pipeline_processes=0)


def test_the_worker_builds_one_child_per_process_and_pins_k_anonymity_topics(loaded_policy: LoadedPolicy) -> None:
    with pytest.raises(ConfigError, match="CRM_ANON_OFFLOAD"):
        _pipeline_for(Settings(offload=False, pipeline_processes=2), loaded_policy)
    assert isinstance(_pipeline_for(Settings(), loaded_policy), OffloadedPipeline)
    several = _pipeline_for(Settings(pipeline_processes=3), loaded_policy)
    assert isinstance(several, PartitionedPipeline)
    assert len(several.children) == 3
    assert several.pinned_topics == k_anonymity_topics(loaded_policy.policy) == frozenset()

    first, *rest = loaded_policy.policy.sources
    counted = first.model_copy(update={"k_anonymity": KAnonymity(k=3, quasi_identifiers=["x"])})
    policy = loaded_policy.policy.model_copy(update={"sources": [counted, *rest]})
    assert k_anonymity_topics(policy) == {first.topic}
