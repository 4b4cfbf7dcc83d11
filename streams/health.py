"""Liveness and readiness of the worker, from timestamps the batch loop and the lag monitor record.

``/healthz`` (alive): the event loop ticked recently. ``/readyz`` (ready for traffic): partitions are assigned,
the broker and the registry answered recently, and no batch has been in the pipeline too long (a stall: a
registry or broker outage makes the pipeline wait, never dead-letter). Problems are fixed strings.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

LIVENESS_S = 30.0
#: Exit code of a worker whose consumer stalled (EX_TEMPFAIL): restart it; nothing was committed.
STALLED_EXIT_CODE = 75


@dataclass
class WorkerHealth:
    max_silence_s: float = 60.0
    started: float = field(default_factory=time.monotonic)
    beat: float = field(default_factory=time.monotonic)
    assigned: int = 0
    broker_ok: float | None = None
    registry_ok: float | None = None
    batch_since: float | None = None
    failed: bool = False
    progress: float = field(default_factory=time.monotonic)  # the last batch start or partition assignment
    lag_messages: int = 0  # records behind the group's committed offsets, at ``lag_at``
    lag_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def tick(self) -> None:
        self.beat = time.monotonic()

    def batch_started(self) -> None:
        with self._lock:
            self.batch_since = self.progress = time.monotonic()

    def note_assigned(self, count: int) -> None:
        self.assigned = count
        self.progress = time.monotonic()

    def note_lag(self, messages: int) -> None:
        self.lag_messages, self.lag_at = messages, time.monotonic()

    def consumer_stalled_s(self, stall_s: float, lag_fresh_s: float, now: float | None = None) -> float:
        """Seconds the consumer has delivered nothing although records wait (0.0: not stalled): partitions
        assigned, no batch in the pipeline, a fresh lag measurement above zero, and no batch started (nor an
        assignment) for ``stall_s``. A batch waiting on an outage is in flight, so it is not this."""
        now = now or time.monotonic()
        idle = now - self.progress
        fresh = self.lag_at is not None and now - self.lag_at <= lag_fresh_s
        if self.assigned > 0 and self.batch_since is None and fresh and self.lag_messages > 0 and idle > stall_s:
            return idle
        return 0.0

    def batch_done(self) -> None:
        with self._lock:
            self.batch_since = None

    def in_flight_s(self, now: float | None = None) -> float:
        since = self.batch_since
        return 0.0 if since is None else (now or time.monotonic()) - since

    def alive(self, now: float | None = None) -> bool:
        return not self.failed and (now or time.monotonic()) - self.beat < LIVENESS_S

    def problems(self, now: float | None = None) -> list[str]:
        """Why the worker is not ready; empty when it is."""
        now = now or time.monotonic()
        found: list[str] = []
        if not self.alive(now):
            found.append("event loop not running")
        if self.assigned <= 0:
            found.append("no partitions assigned")
        if self.broker_ok is None or now - self.broker_ok > self.max_silence_s:
            found.append("broker not answering")
        if self.registry_ok is None or now - self.registry_ok > self.max_silence_s:
            found.append("registry not answering")
        if self.in_flight_s(now) > self.max_silence_s:
            found.append("stalled: a batch is waiting on the broker or the registry")
        return found
