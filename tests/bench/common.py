"""What every part of the benchmark shares: client settings, topics, the pool file format, subprocess helpers."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.kafka.admin import delete_topics, ensure_topics
from streams.settings import REPO_ROOT, ConnectionSettings

PARTITIONS = 3
SCHEMA_DIR = REPO_ROOT / "schemas" / "debezium"
KEY_SCHEMA_FILE = SCHEMA_DIR / "crm.public.contacts-key.avsc"
VALUE_SCHEMA_FILE = SCHEMA_DIR / "crm.public.contacts-value.avsc"

#: Producers that write the levels' input (prefill, pacer, probes): acks=all, idempotence, linger 5 ms,
#: uncompressed like the project's generator. Not lz4: the Faust levels (L2 and P) consume through aiokafka,
#: which cannot read lz4 batches without an extra package and crashes on them (UnsupportedCodecError).
INPUT_PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "compression.type": "none",
    "partitioner": "murmur2_random",
}

#: Producers of L0/L1's output: the settings of the processor's sink (streams/kafka/sink.py), lz4
#: included, so that L0/L1 pay what P pays per output record.
OUTPUT_PRODUCER_CONFIG: dict[str, Any] = {**INPUT_PRODUCER_CONFIG, "compression.type": "lz4"}

#: Consumers read from the beginning of what they are assigned, never commit, and see every record once.
CONSUMER_CONFIG: dict[str, Any] = {
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
}

Event = tuple[bytes | None, bytes | None]  # (key, value) in Confluent wire format; value None: tombstone


def producer(bootstrap: str, *, output: bool = False, **extra: Any) -> Producer:
    """An input-side producer, or with ``output=True`` one configured like the processor's sink."""
    config = OUTPUT_PRODUCER_CONFIG if output else INPUT_PRODUCER_CONFIG
    return Producer({"bootstrap.servers": bootstrap, **config, **extra})


def consumer(bootstrap: str, group: str, **extra: Any) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group, **CONSUMER_CONFIG, **extra})


def produce(prod: Producer, topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int = 0) -> None:
    """Enqueue one record; on a full local queue serve delivery reports and retry. ``timestamp_ms`` 0: now."""
    while True:
        try:
            prod.produce(topic, value=value, key=key, timestamp=timestamp_ms)
            return
        except BufferError:
            prod.poll(0.005)


def assign_all(cons: Consumer, topics: Sequence[str], offset: int | None = None) -> list[TopicPartition]:
    """Assign every partition of ``topics`` at ``offset`` (default: the low watermark)."""
    metadata = cons.list_topics(timeout=15)
    assignment = []
    for topic in topics:
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise RuntimeError(f"topic {topic} does not exist")
        for partition in sorted(metadata.topics[topic].partitions):
            start = offset
            if start is None:
                start, _ = cons.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
            assignment.append(TopicPartition(topic, partition, start))
    cons.assign(assignment)
    return assignment


def create_topics(bootstrap: str, names: Iterable[str]) -> None:
    ensure_topics(ConnectionSettings(kafka_bootstrap=bootstrap), list(names), PARTITIONS)


def drop_topics(bootstrap: str, names: Iterable[str]) -> None:
    try:
        delete_topics(ConnectionSettings(kafka_bootstrap=bootstrap), list(names), timeout_s=120)
    except Exception as exc:  # cleanup must not hide the benchmark's figures
        print(f"warning: could not delete bench topics: {exc}", file=sys.stderr)


def schema_texts() -> tuple[str, str]:
    key = json.dumps(json.loads(KEY_SCHEMA_FILE.read_text()))
    value = json.dumps(json.loads(VALUE_SCHEMA_FILE.read_text()))
    return key, value


def register_subjects(registry_url: str, topics: Iterable[str]) -> None:
    """Register the contacts key/value schemas under each topic's subjects (TopicNameStrategy), as a Debezium
    connector writing that topic would; the worker's preflight lints the policy against them."""
    client = SchemaRegistryClient({"url": registry_url})
    key, value = schema_texts()
    for topic in topics:
        client.register_schema(f"{topic}-key", Schema(key, "AVRO"))
        client.register_schema(f"{topic}-value", Schema(value, "AVRO"))


# -- the pool file: length-prefixed (key, value) pairs, -1 for None ------------------------------------------
_LEN = struct.Struct(">i")


def _write_part(out: IO[bytes], data: bytes | None) -> None:
    out.write(_LEN.pack(-1 if data is None else len(data)))
    if data is not None:
        out.write(data)


def write_pool(path: Path, events: Sequence[Event]) -> None:
    with path.open("wb") as out:
        for key, value in events:
            _write_part(out, key)
            _write_part(out, value)


def read_pool(path: Path) -> list[Event]:
    data = path.read_bytes()
    events: list[Event] = []
    pos = 0
    parts: list[bytes | None] = []
    while pos < len(data):
        (length,) = _LEN.unpack_from(data, pos)
        pos += _LEN.size
        if length < 0:
            parts.append(None)
        else:
            parts.append(data[pos : pos + length])
            pos += length
        if len(parts) == 2:
            events.append((parts[0], parts[1]))
            parts = []
    return events


# -- subprocesses ---------------------------------------------------------------------------------------------
def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def stop_process(proc: subprocess.Popen[Any], grace_s: float = 10.0) -> int | None:
    """SIGTERM, then SIGKILL after ``grace_s``. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode
