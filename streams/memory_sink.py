"""An in-memory :class:`~streams.ports.Sink` for tests, REPL sessions and the risk evaluation (never the worker).

It keeps every record in send order, notes how many sends each ``drain`` covered, and can play a broker that
refuses records of some topics (their Delivery gets an error) or a drain that fails. With ``max_record_bytes``
it refuses records over that size as librdkafka does (``MSG_SIZE_TOO_LARGE``): a real-sized sink.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.ports import Delivery, DeliveryError, Headers


@dataclass(frozen=True, slots=True)
class SentRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int | None = None


class MemorySink:
    __slots__ = ("closed", "drained_at", "fail_drain", "max_record_bytes", "refuse", "sent")

    def __init__(self, max_record_bytes: int | None = None) -> None:
        self.max_record_bytes = max_record_bytes
        self.sent: list[SentRecord] = []
        self.drained_at: list[int] = []  # len(sent) at each drain
        self.fail_drain = False
        self.refuse: set[str] = set()  # topics whose records the "broker" refuses
        self.closed = False

    def send(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers, timestamp_ms: int | None = None
    ) -> Delivery:
        if topic in self.refuse:
            return Delivery("INVALID_RECORD")
        size = len(key or b"") + len(value or b"") + sum(len(k) + len(v) for k, v in headers)
        if self.max_record_bytes is not None and size > self.max_record_bytes:
            return Delivery("MSG_SIZE_TOO_LARGE")
        self.sent.append(SentRecord(topic, key, value, list(headers), timestamp_ms))
        return Delivery()

    async def drain(self) -> None:
        self.drained_at.append(len(self.sent))
        if self.fail_drain:
            raise DeliveryError("2 deliveries failed: ['_MSG_TIMED_OUT']")

    def close(self) -> None:
        self.closed = True

    def on(self, topic: str) -> list[SentRecord]:
        """The records sent to ``topic``, in order."""
        return [s for s in self.sent if s.topic == topic]
