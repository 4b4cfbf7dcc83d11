"""Read a whole topic with an independent confluent-kafka consumer (demo, tests, benchmarks)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.kafka.config import librdkafka_config
from streams.settings import ConnectionSettings


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def _as_bytes(data: str | bytes | None) -> bytes | None:
    return data.encode() if isinstance(data, str) else data


def _watermarks(consumer: Consumer, partition: TopicPartition, attempts: int = 20) -> tuple[int, int]:
    """Low/high watermarks; a topic created a moment ago can answer NOT_LEADER for a while, so retry."""
    for attempt in range(attempts):
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=15)
            return int(low), int(high)
        except KafkaException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25)
    raise AssertionError("unreachable")


def read_topic(conn: ConnectionSettings, topic: str, timeout_s: float = 60.0) -> list[Record]:
    """Every record currently in ``topic`` (up to the high watermarks at call time), per partition in order."""
    consumer = Consumer(
        librdkafka_config(
            conn,
            **{
                "group.id": f"reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            },
        )
    )
    try:
        metadata = consumer.list_topics(topic, timeout=15)
        partitions = sorted(metadata.topics[topic].partitions) if topic in metadata.topics else []
        ends: dict[int, int] = {}
        assignment = []
        for p in partitions:
            low, high = _watermarks(consumer, TopicPartition(topic, p))
            if high > low:
                ends[p] = high
                assignment.append(TopicPartition(topic, p, low))
        if not assignment:
            return []
        consumer.assign(assignment)
        records: list[Record] = []
        done: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while len(done) < len(ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}: {len(records)} records before timeout")
            for msg in consumer.consume(1000, timeout=0.5):
                if msg.error():
                    continue
                part, off = msg.partition(), msg.offset()
                if part is None or off is None:
                    continue
                records.append(
                    Record(
                        topic,
                        part,
                        off,
                        msg.timestamp()[1],
                        _as_bytes(msg.key()),
                        _as_bytes(msg.value()),
                        [(str(h[0]), _as_bytes(h[1]) or b"") for h in (msg.headers() or [])],
                    )
                )
                if off + 1 >= ends[part]:
                    done.add(part)
        return records
    finally:
        consumer.close()
