"""The garbage collector's settings in the worker's processes (the Faust parent and the pipeline child).

Start-up objects (compiled plans, OpenDP measurements, name lexicons, Faust's services) are frozen out of the
collector's way and the thresholds raised: full collections over them were the worst latency stalls. With
these thresholds the collector's own full passes all but never run (a full pass needs 100 x 20 x 50,000 net
container allocations), so cyclic garbage would stay until the process ends: :class:`FullCollections` runs
one on a timer instead, over the objects that are not frozen (measured in a soak: ~5,000 in the parent,
~26,000 in the child; a collection over ~20,000 takes about a millisecond here).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

THRESHOLDS = (50_000, 20, 100)
FULL_COLLECTION_INTERVAL_S = 60.0


def freeze_start_up_objects() -> None:
    """Collect once, move every surviving object to the permanent generation, raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


class FullCollections:
    """A full collection at most every ``interval_s``, on the caller's schedule (a timer, a batch loop)."""

    def __init__(
        self, interval_s: float = FULL_COLLECTION_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._last = clock()

    def maybe_collect(self) -> bool:
        """Collect if ``interval_s`` has passed since the last collection; True if it did."""
        now = self._clock()
        if now - self._last < self._interval_s:
            return False
        self._last = now
        started = time.perf_counter()
        found = gc.collect()
        log.debug("gc_full_collection", unreachable=found, ms=round((time.perf_counter() - started) * 1000, 2))
        return True
