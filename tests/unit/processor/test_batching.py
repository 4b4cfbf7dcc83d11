"""The batch collector: batches grow with what arrives while the previous one is processed; order is kept."""

from __future__ import annotations

import asyncio

import pytest

from streams.processor.batching import BatchCollector


def test_a_lone_item_waits_at_most_the_window() -> None:
    async def go() -> tuple[list[int], float]:
        batches: BatchCollector[int] = BatchCollector(max_size=10, max_wait_s=0.05, limit=20)
        await batches.put(1)
        loop = asyncio.get_running_loop()
        began = loop.time()
        batch = await batches.take()
        return batch, loop.time() - began

    batch, waited = asyncio.run(go())
    assert batch == [1]
    assert 0.03 <= waited < 0.5


def test_a_full_batch_is_handed_out_at_once_and_the_rest_follows_in_order() -> None:
    async def go() -> list[list[int]]:
        batches: BatchCollector[int] = BatchCollector(max_size=3, max_wait_s=10.0, limit=10)
        for i in range(7):
            await batches.put(i)
        # Without waiting the window: the first two are full, the rest waited for as long as they did.
        return [await asyncio.wait_for(batches.take(), 1.0) for _ in range(3)]

    assert asyncio.run(go()) == [[0, 1, 2], [3, 4, 5], [6]]


def test_items_arriving_while_a_batch_is_processed_form_the_next_batch() -> None:
    """The consumer keeps putting while the pipeline works; the next take gets all of it, not one window's worth."""

    async def go() -> list[list[int]]:
        batches: BatchCollector[int] = BatchCollector(max_size=100, max_wait_s=0.01, limit=200)
        taken: list[list[int]] = []

        async def consumer() -> None:
            while len(taken) < 2:
                batch = await batches.take()
                taken.append(batch)
                await asyncio.sleep(0.1)  # the pipeline's work on this batch

        task = asyncio.ensure_future(consumer())
        await batches.put(0)
        await asyncio.sleep(0.03)  # the first batch is taken alone
        for i in range(1, 41):
            await batches.put(i)
            await asyncio.sleep(0.001)
        await asyncio.wait_for(task, 2.0)
        return taken

    first, second = asyncio.run(go())
    assert first == [0]
    assert second == list(range(1, 41))


def test_put_waits_while_the_limit_is_reached() -> None:
    async def go() -> tuple[bool, bool, list[int]]:
        batches: BatchCollector[int] = BatchCollector(max_size=2, max_wait_s=0.0, limit=2)
        await batches.put(1)
        await batches.put(2)
        blocked = asyncio.ensure_future(batches.put(3))
        await asyncio.sleep(0.05)
        waited = not blocked.done()
        first = await batches.take()
        await asyncio.wait_for(blocked, 1.0)
        return waited, blocked.done(), first + await batches.take()

    waited, done, items = asyncio.run(go())
    assert waited and done
    assert items == [1, 2, 3]


def test_take_waits_for_a_first_item() -> None:
    async def go() -> list[int]:
        batches: BatchCollector[int] = BatchCollector(max_size=5, max_wait_s=0.0, limit=5)
        taking = asyncio.ensure_future(batches.take())
        await asyncio.sleep(0.05)
        assert not taking.done()
        await batches.put(9)
        return await asyncio.wait_for(taking, 1.0)

    assert asyncio.run(go()) == [9]


@pytest.mark.parametrize(("max_size", "limit"), [(0, 5), (5, 4)])
def test_sizes_are_checked(max_size: int, limit: int) -> None:
    with pytest.raises(ValueError, match="max_size"):
        BatchCollector(max_size=max_size, max_wait_s=0.0, limit=limit)


def test_a_take_waiting_out_its_window_can_be_cancelled() -> None:
    """The batch loop stops when cancelled, even while a batch waits for its window to pass."""

    async def go() -> bool:
        batches: BatchCollector[int] = BatchCollector(max_size=10, max_wait_s=5.0, limit=20)
        await batches.put(1)
        taking = asyncio.ensure_future(batches.take())
        await asyncio.sleep(0.02)
        taking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(taking, 1.0)
        return taking.cancelled()

    assert asyncio.run(go())
