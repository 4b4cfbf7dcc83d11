"""Several pipeline processes, each owning a share of the source partitions (``CRM_ANON_PIPELINE_PROCESSES``).

A batch is split by source partition, the parts run in their children at the same time, and the batch returns
once every part is delivered, so the worker still acknowledges whole batches after delivery. A partition
always goes to the same child (a function of topic and partition number, not of the assignment), so per
partition order is kept and everything a child holds about a subject stays in one process: subject states
(keyed by topic and record key, and a key lives in one partition, which the state tables already rely on) and
the in-memory DP release caches of a pipeline without a state store.

k-anonymity counts are per source topic, across its partitions: two children counting the same class at the
same time would each miss the other's subjects. A topic with a ``k_anonymity`` section is therefore owned
whole by one child (``pinned_topics``), which holds all of its counts as a single child does.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Collection, Mapping, Sequence

from streams.ports import BatchProcessor, BatchStats, RawRecord


def child_for(record: RawRecord, children: int, pinned_topics: Collection[str]) -> int:
    """The index of the child that owns ``record``'s partition (or its whole topic, when pinned).

    crc32, not ``hash``: string hashes are salted per process, and the owner must not change between restarts
    (a restarted worker must route a subject to the child whose state and caches matched it before)."""
    if record.topic in pinned_topics:
        return topic_owner(record.topic, children)
    return (zlib.crc32(record.topic.encode()) + record.partition) % children


def topic_owner(topic: str, children: int) -> int:
    """The child that owns every partition of a pinned topic (and its k-anonymity counts)."""
    return zlib.crc32(topic.encode()) % children


class PartitionedPipeline:
    """A :class:`~streams.ports.BatchProcessor` over several children, each a :class:`BatchProcessor` itself
    (an :class:`~streams.processor.offload.OffloadedPipeline` in the worker)."""

    def __init__(self, children: Sequence[BatchProcessor], pinned_topics: Collection[str] = ()) -> None:
        if not children:
            raise ValueError("a partitioned pipeline needs at least one child")
        self.children = list(children)
        self.pinned_topics = frozenset(pinned_topics)

    @property
    def restarts(self) -> int:
        """Child processes restarted after dying, over all children (a metric)."""
        return sum(int(getattr(child, "restarts", 0)) for child in self.children)

    def split(self, records: Sequence[RawRecord]) -> dict[int, list[RawRecord]]:
        """The batch's records per owning child, each part in arrival order."""
        parts: dict[int, list[RawRecord]] = {}
        for record in records:
            parts.setdefault(child_for(record, len(self.children), self.pinned_topics), []).append(record)
        return parts

    async def start(self) -> None:
        await asyncio.gather(*(child.start() for child in self.children))

    async def load_counts(self, counts: Mapping[str, Mapping[bytes, bytes]]) -> None:
        """Each pinned topic's counts to the child that owns the topic (the others hold none)."""
        per_child: dict[int, dict[str, Mapping[bytes, bytes]]] = {i: {} for i in range(len(self.children))}
        for topic, entries in counts.items():
            per_child[topic_owner(topic, len(self.children))][topic] = entries
        await asyncio.gather(*(child.load_counts(per_child[i]) for i, child in enumerate(self.children)))

    async def process(self, records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None = None) -> BatchStats:
        parts = self.split(records)
        # Every child gets the batch's states: they are keyed by subject, and a child reads only its own.
        results = await asyncio.gather(
            *(
                self.children[i].process(part) if states is None else self.children[i].process(part, states)
                for i, part in parts.items()
            )
        )
        merged = BatchStats()
        for result in results:
            merged = merged.alongside(result)
        return merged

    def close(self) -> None:
        for child in self.children:
            child.close()
