"""Micro-batches collected while the previous batch is processed (the consumer never waits for the pipeline).

Why not Faust's ``take_events``: it stops feeding its buffer while the agent's loop body runs and acks a batch
when the body returns, so the consumer side (aiokafka fetch, Faust events: ~200 us per event in the parent)
and the pipeline take turns, and a batch holds only what the parent turns into events within the batch window
(~25-95 events here). With :class:`BatchCollector` the agent keeps turning records into events while the
pipeline works on batch N; batch N+1 is what arrived meanwhile (up to ``max_size``), so batches grow with the
load and the per-batch costs (hand-off, drains) are shared by more events.

Order: one consumer of :meth:`take` processes batches one after another, each in arrival order, so per-partition
order is kept. Back-pressure: :meth:`put` waits while ``limit`` events are waiting. Acks stay the caller's: an
event is acknowledged only after its batch is delivered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")


class BatchCollector(Generic[ItemT]):
    """A bounded FIFO of items that :meth:`take` hands out as batches.

    A batch is handed out when ``max_size`` items wait, or ``max_wait_s`` after its first item arrived,
    whichever is first; items that arrived while the previous batch was processed are handed out at once.
    """

    def __init__(
        self, max_size: int, max_wait_s: float, limit: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_size < 1 or limit < max_size:
            raise ValueError("a batch collector needs 1 <= max_size <= limit")
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.limit = limit
        self._clock = clock
        self._items: list[ItemT] = []
        self._first_at = 0.0  # when the oldest waiting item arrived
        self._nonempty = asyncio.Event()
        self._full = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: ItemT) -> None:
        """Add ``item``; waits while ``limit`` items are waiting (the consumer's buffer then fills instead)."""
        while len(self._items) >= self.limit:
            self._space.clear()
            await self._space.wait()
        if not self._items:
            self._first_at = self._clock()
            self._nonempty.set()
        self._items.append(item)
        if len(self._items) >= self.max_size:
            self._full.set()

    async def take(self) -> list[ItemT]:
        """The next batch: waits for a first item, then until the batch is full or its window has passed."""
        while not self._items:
            self._nonempty.clear()
            await self._nonempty.wait()
        remaining = self._first_at + self.max_wait_s - self._clock()
        if len(self._items) < self.max_size and remaining > 0:
            self._full.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that arrives as
            # the inner wait completes, and the batch loop must stop when it is cancelled.
            try:
                async with asyncio.timeout(remaining):
                    await self._full.wait()
            except TimeoutError:
                pass
        batch = self._items[: self.max_size]
        del self._items[: self.max_size]
        if self._items:
            # The rest waited at least as long as this batch's window: the next take hands them out at once.
            self._first_at = self._clock() - self.max_wait_s
        else:
            self._nonempty.clear()
        if len(self._items) < self.max_size:
            self._full.clear()
        self._space.set()
        return batch
