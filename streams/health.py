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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def tick(self) -> None:
        self.beat = time.monotonic()

    def batch_started(self) -> None:
        with self._lock:
            self.batch_since = time.monotonic()

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
