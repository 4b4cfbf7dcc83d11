"""Measurements, the same code for every level: an independent consumer on the level's output topic, and an
RSS sampler over the level's process tree."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from confluent_kafka import OFFSET_BEGINNING

from tests.bench.common import assign_all, consumer

MB = 1024 * 1024


@dataclass
class Throughput:
    events_per_s: float
    window_s: float  # the window the rate is over (shorter than asked if the level drained the topic)
    counted: int  # output records that arrived inside the window
    total: int  # output records seen in all
    drained: bool  # the level reached the end of its (read-once) input inside the window
    startup_s: float  # from the meter's start to the first output record
    window_start: float = 0.0  # time.monotonic() at the window's start and end
    window_end: float = 0.0


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    samples: int
    expected: int  # records the pacer stamped inside the window
    mean_ms: float
    #: p50 of the window's last quarter minus p50 of its first quarter (by stamp): clearly above zero, the
    #: level did not keep up with the paced rate and the figures include a growing backlog.
    trend_ms: float
    output_rate: float  # records/s the consumer saw over the window (stamps inside it)


class OutputMeter:
    """Reads ``topic`` from the beginning with its own consumer and group (it commits nothing)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = consumer(bootstrap, f"bench-meter-{uuid.uuid4().hex[:8]}", **{"fetch.wait.max.ms": 50})
        assign_all(self._consumer, [topic], OFFSET_BEGINNING)
        self.topic = topic
        self.seen = 0

    def close(self) -> None:
        self._consumer.close()

    def count(self, timeout_s: float) -> int:
        """Read what arrives within ``timeout_s``; returns (and adds to ``seen``) the number of records."""
        got = sum(1 for m in self._consumer.consume(1000, timeout_s) if m.error() is None)
        self.seen += got
        return got

    def wait_first(self, timeout_s: float, alive: Callable[[], bool], tick: Callable[[], None] | None = None) -> float:
        """Block until the first output record; ``tick`` runs between polls (e.g. to send probes)."""
        started = time.monotonic()
        while True:
            if tick is not None:
                tick()
            msgs = self._consumer.consume(100, 0.05)
            got = sum(1 for m in msgs if m.error() is None)
            if got:
                self.seen += got
                return time.monotonic() - started
            if not alive():
                raise RuntimeError(f"the level exited before any record reached {self.topic}")
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"no record on {self.topic} within {timeout_s:.0f}s")

    def wait_count(self, total: int, timeout_s: float, alive: Callable[[], bool]) -> float:
        """Block until ``total`` records have arrived in all (``seen``); returns the seconds it took."""
        started = time.monotonic()
        while self.seen < total:
            self.count(0.05)
            if not alive():
                raise RuntimeError(f"the level exited while writing {self.topic}")
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{self.seen} of {total} records on {self.topic} within {timeout_s:.0f}s")
        return time.monotonic() - started

    def throughput(
        self,
        warmup_s: float,
        duration_s: float,
        alive: Callable[[], bool],
        expected_total: int | None = None,
        startup_timeout_s: float = 120.0,
        idle_timeout_s: float = 5.0,
    ) -> Throughput:
        """Output records/s over ``duration_s`` seconds that start ``warmup_s`` after the first output record.

        ``expected_total``: the level reads its input once and writes one output per input record; once that
        many arrived the window ends early (the level drained the topic) and the rate is over the time until
        the last record. A level that stops producing for ``idle_timeout_s`` ends the window the same way.
        """
        startup_s = self.wait_first(startup_timeout_s, alive)
        first = time.monotonic()
        total = self.seen
        window_start, window_end = first + warmup_s, first + warmup_s + duration_s
        counted = 0
        last = first
        drained = False
        while True:
            msgs = self._consumer.consume(1000, 0.05)
            now = time.monotonic()
            got = 0
            for m in msgs:
                if m.error() is None:
                    got += 1
            if got:
                total += got
                last = now
                if window_start <= now < window_end:
                    counted += got
            if now >= window_end:
                break
            if expected_total is not None and total >= expected_total:
                drained = True
                break
            if not alive():
                raise RuntimeError(f"the level exited while writing {self.topic}")
            if now - last > idle_timeout_s:  # stalled or done with what it can publish: end the window there
                drained = True
                break
        self.seen = total
        if drained:
            if last > window_start:
                window = last - window_start
            else:  # drained during the warm-up: fall back to the whole run, start-up ramp included
                window, counted = max(last - first, 1e-3), total
        else:
            window = duration_s
        began = window_start if window_start < last or not drained else first
        return Throughput(counted / window, window, counted, total, drained, startup_s, began, began + window)

    def latency(self, done: Callable[[], tuple[int, int, int] | None], timeout_s: float) -> Latency:
        """p50/p99 of (time the record is visible here - its timestamp) over the pacer's window.

        ``done()`` returns None while the pacer runs, then its window (start ms, end ms) and the number of
        records it stamped inside it. Reading stops once that many were seen, or at ``timeout_s`` (records
        still missing then are not measured; ``samples`` < ``expected`` shows it). ``consume(100, 1 ms)``
        returns within 1 ms of a record's arrival, which bounds the error of "visible" at about 1 ms.
        """
        stamps: list[int] = []
        visible: list[float] = []
        window: tuple[int, int, int] | None = None
        in_window = 0
        deadline = time.monotonic() + timeout_s
        consume = self._consumer.consume
        while True:
            msgs = consume(100, 0.001)
            seen_at = time.time() * 1000.0
            for m in msgs:
                if m.error() is None:
                    stamp = m.timestamp()[1]
                    stamps.append(stamp)
                    visible.append(seen_at)
                    if window is not None and window[0] <= stamp < window[1]:
                        in_window += 1
            self.seen += len(msgs)
            if not msgs:
                if window is None:
                    window = done()
                    if window is not None:
                        in_window = sum(1 for st in stamps if window[0] <= st < window[1])
                if window is not None and in_window >= window[2]:
                    break
                if time.monotonic() > deadline:
                    break
        if window is None:
            raise RuntimeError(f"the pacer did not finish before the latency timeout on {self.topic}")
        stamp_arr = np.asarray(stamps, dtype=np.float64)
        mask = (stamp_arr >= window[0]) & (stamp_arr < window[1])
        values = np.asarray(visible)[mask] - stamp_arr[mask]
        if values.size == 0:
            raise RuntimeError(f"no latency sample on {self.topic}")
        in_stamps = stamp_arr[mask]
        span = window[1] - window[0]
        first = values[in_stamps < window[0] + span / 4]
        last = values[in_stamps >= window[1] - span / 4]
        trend = float(np.median(last) - np.median(first)) if first.size and last.size else 0.0
        return Latency(
            float(np.percentile(values, 50)),
            float(np.percentile(values, 99)),
            int(values.size),
            window[2],
            float(values.mean()),
            trend,
            values.size / (span / 1000.0),
        )


@dataclass
class RssSampler:
    """Samples the RSS and the CPU time of a process and its children every ``interval_s`` in a thread; keeps
    the peak RSS.

    The peak is the larger of the sampled tree total and the kernel's high-water mark (VmHWM) of the root
    process, which also catches a spike between two samples. CPU: user + system seconds summed over every
    process of the tree seen so far (a process that exited counts with its last sample), so
    :meth:`cpu_between` gives the CPU seconds the whole tree used in a window.
    """

    pid: int
    interval_s: float = 0.1
    peak_bytes: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)
    cpu_samples: list[tuple[float, float, float]] = field(default_factory=list)  # (monotonic, tree, root CPU s)
    _cpu_by_pid: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def sample(self) -> int:
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in tree:
            try:
                total += proc.memory_info().rss
                times = proc.cpu_times()
                self._cpu_by_pid[proc.pid] = times.user + times.system
            except psutil.Error:
                continue
        root_cpu = self._cpu_by_pid.get(self.pid, 0.0)
        self.cpu_samples.append((time.monotonic(), sum(self._cpu_by_pid.values()), root_cpu))
        hwm = _vm_hwm(self.pid)
        self.peak_bytes = max(self.peak_bytes, total, hwm)
        return total

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            rss = self.sample()
            if rss:
                self.samples.append((time.monotonic() - started, rss))
            self._stop.wait(self.interval_s)

    def cpu_between(self, start: float, end: float, root_only: bool = False) -> float:
        """CPU seconds of the tree (or of the root process alone) between two ``time.monotonic()`` instants
        (linear between samples)."""
        if len(self.cpu_samples) < 2:
            return 0.0
        samples = np.asarray(self.cpu_samples)
        times, cpu = samples[:, 0], samples[:, 2 if root_only else 1]
        return float(np.interp(end, times, cpu) - np.interp(start, times, cpu))

    def stop(self) -> int:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        return self.peak_bytes


def _vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
