"""Consumer lag of the worker's group, measured from outside Faust with librdkafka.

Every ``interval_s`` a background thread reads, per source partition, the group's committed offset and the
high watermark (lag in messages), and for partitions with lag the timestamp of the first unprocessed record
(lag in seconds: its age). The consumer it uses never subscribes and never commits, so it does not join or
disturb the group. The same round probes the registry, for readiness.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import structlog
from confluent_kafka import OFFSET_INVALID, Consumer, KafkaException, TopicPartition

from streams.kafka.config import librdkafka_config, registry_probe_client
from streams.settings import ConnectionSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int  # -1: the group has not committed on this partition
    messages: int
    seconds: float


def lag_messages(committed: int, low: int, high: int) -> int:
    """Records not yet processed: from the committed offset (or the log start when none) to the high watermark."""
    start = committed if committed >= 0 else low
    return max(0, high - max(start, low))


def lag_seconds(oldest_unprocessed_ms: int | None, now_ms: float) -> float:
    return 0.0 if oldest_unprocessed_ms is None else max(0.0, (now_ms - oldest_unprocessed_ms) / 1000.0)


class LagMonitor:
    """The thread; ``on_lag`` gets each round's partitions, ``on_broker`` / ``on_registry`` report success."""

    def __init__(
        self,
        conn: ConnectionSettings,
        group: str,
        topics: Sequence[str],
        *,
        interval_s: float,
        on_lag: Callable[[list[PartitionLag]], None],
        on_broker: Callable[[], None],
        on_registry: Callable[[bool], None],
    ) -> None:
        self._conn = conn
        self._group = group
        self._topics = list(topics)
        self._interval_s = interval_s
        self._on_lag, self._on_broker, self._on_registry = on_lag, on_broker, on_registry
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        consumer = Consumer(
            librdkafka_config(
                self._conn,
                **{"group.id": self._group, "enable.auto.commit": False, "enable.partition.eof": False},
            )
        )
        try:
            # One HTTP client for the thread's life (see registry_probe_client; tests/bench/README.md, "Soak").
            with registry_probe_client(self._conn, timeout_s=5.0) as registry:
                while not self._stop.is_set():
                    self._round(consumer, registry)
                    self._stop.wait(self._interval_s)
        finally:
            consumer.close()

    def _round(self, consumer: Consumer, registry: httpx.Client) -> None:
        try:
            self._on_lag(self.measure(consumer))
            self._on_broker()
        except KafkaException as exc:
            log.warning("lag_measure_failed", error=exc.args[0].name() if exc.args else type(exc).__name__)
        except Exception as exc:  # never let the monitor die; report the type only
            log.warning("lag_measure_failed", error=type(exc).__name__)
        self._on_registry(self.registry_answers(registry))

    def registry_answers(self, registry: httpx.Client) -> bool:
        try:
            response = registry.get(f"{self._conn.registry_url.rstrip('/')}/subjects")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def measure(self, consumer: Consumer) -> list[PartitionLag]:
        metadata = consumer.list_topics(timeout=10)
        partitions = [
            TopicPartition(topic, p)
            for topic in self._topics
            if topic in metadata.topics
            for p in sorted(metadata.topics[topic].partitions)
        ]
        if not partitions:
            return []
        committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(partitions, timeout=10)}
        rows: list[tuple[str, int, int, int, int]] = []  # topic, partition, committed, start, lag
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            offset = committed.get((tp.topic, tp.partition), OFFSET_INVALID)
            offset = offset if offset >= 0 else -1
            rows.append((tp.topic, tp.partition, offset, max(offset, low), lag_messages(offset, low, high)))
        oldest = self._oldest_timestamps(consumer, [(t, p, start) for t, p, _, start, lag in rows if lag > 0])
        now_ms = time.time() * 1000.0
        return [
            PartitionLag(t, p, c, lag, lag_seconds(oldest.get((t, p)), now_ms) if lag > 0 else 0.0)
            for t, p, c, _, lag in rows
        ]

    @staticmethod
    def _oldest_timestamps(consumer: Consumer, starts: list[tuple[str, int, int]]) -> dict[tuple[str, int], int]:
        """Timestamp (ms) of the first unprocessed record of each partition with lag."""
        if not starts:
            return {}
        consumer.assign([TopicPartition(t, p, start) for t, p, start in starts])
        found: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + 5.0
        try:
            while len(found) < len(starts) and time.monotonic() < deadline:
                for message in consumer.consume(num_messages=len(starts) * 4, timeout=0.5):
                    if message.error() is not None or message.topic() is None:
                        continue
                    key = (str(message.topic()), int(message.partition() or 0))
                    kind, ts = message.timestamp()
                    if key not in found and kind != 0 and ts > 0:
                        found[key] = ts
        finally:
            consumer.unassign()
        return found
