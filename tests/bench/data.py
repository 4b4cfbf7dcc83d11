"""The events every level reads: a pool of distinct generated Debezium contact events, produced repeatedly."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_reader

from streams.devtools.generator.debezium import CONTACTS_TOPIC, CrmCdcGenerator
from tests.bench.common import KEY_SCHEMA_FILE, VALUE_SCHEMA_FILE, Event, producer, schema_texts


def generate_pool(registry_url: str, topic: str, size: int, seed: int = 7) -> list[Event]:
    """``size`` distinct contact events (snapshot reads, creates, updates, deletes and their tombstones) from
    the project's generator, serialized with AvroSerializer for ``topic`` (TopicNameStrategy subjects)."""
    registry = SchemaRegistryClient({"url": registry_url})
    key_text, value_text = schema_texts()
    key_ser = AvroSerializer(registry, key_text)
    value_ser = AvroSerializer(registry, value_text)
    key_ctx = SerializationContext(topic, MessageField.KEY)
    value_ctx = SerializationContext(topic, MessageField.VALUE)
    generator = CrmCdcGenerator(seed)
    pool: list[Event] = []
    # The generator mixes contacts and accounts (about 4:1); ask for enough and keep the contacts.
    for event in generator.events(size * 2):
        if event.topic != CONTACTS_TOPIC:
            continue
        key = key_ser(event.key, key_ctx)
        value = value_ser(event.value, value_ctx) if event.value is not None else None
        pool.append((key, value))
        if len(pool) >= size:
            break
    return pool


def prefill(bootstrap: str, topic: str, pool: Sequence[Event], total: int) -> float:
    """Produce the pool over and over (one librdkafka producer) until ``total`` events; returns events/s."""
    prod = producer(bootstrap)
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(err.name())

    started = time.perf_counter()
    for i in range(total):
        key, value = pool[i % len(pool)]
        while True:
            try:
                prod.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                prod.poll(0.005)
        if i % 1000 == 0:
            prod.poll(0)
    remaining = prod.flush(120)
    elapsed = time.perf_counter() - started
    if remaining or errors:
        raise RuntimeError(f"prefill: {remaining} undelivered, {len(errors)} delivery errors {sorted(set(errors))}")
    return total / elapsed if elapsed > 0 else 0.0


def decode_pool(pool: Sequence[Event]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The pool as the pipeline sees it after decoding: (key dict, value dict or None for a tombstone)."""
    key_schema = parse_schema(json.loads(KEY_SCHEMA_FILE.read_text()))
    value_schema = parse_schema(json.loads(VALUE_SCHEMA_FILE.read_text()))
    decoded = []
    for key, value in pool:
        assert key is not None
        k = schemaless_reader(io.BytesIO(key[5:]), key_schema, None)
        v = schemaless_reader(io.BytesIO(value[5:]), value_schema, None) if value is not None else None
        decoded.append((k, v))
    return decoded
