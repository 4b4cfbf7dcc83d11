"""Full collections on a timer: cyclic garbage is collected although the raised thresholds never get there."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from streams.processor.gc_policy import FullCollections


class _Node:
    def __init__(self) -> None:
        self.peer: _Node = self


@pytest.fixture
def collector_off() -> Iterator[None]:
    # Only FullCollections may collect during the test.
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _cycle() -> weakref.ref[_Node]:
    return weakref.ref(_Node())  # the node refers to itself: only the cycle collector frees it


def test_collects_cyclic_garbage_once_the_interval_has_passed(collector_off: None) -> None:
    now = [100.0]
    collections = FullCollections(interval_s=60.0, clock=lambda: now[0])
    garbage = _cycle()
    now[0] += 59.0
    assert collections.maybe_collect() is False
    assert garbage() is not None  # not yet: inside the interval
    now[0] += 1.0
    assert collections.maybe_collect() is True
    assert garbage() is None


def test_the_interval_restarts_after_each_collection(collector_off: None) -> None:
    now = [0.0]
    collections = FullCollections(interval_s=10.0, clock=lambda: now[0])
    now[0] = 10.0
    assert collections.maybe_collect() is True
    garbage = _cycle()
    now[0] = 19.0
    assert collections.maybe_collect() is False
    assert garbage() is not None
    now[0] = 20.0
    assert collections.maybe_collect() is True
    assert garbage() is None
