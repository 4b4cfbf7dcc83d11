"""The events every level reads: a pool of distinct generated Debezium contact events, produced repeatedly."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.devtools.generator.debezium import CONTACTS_TOPIC, CdcEvent, CrmCdcGenerator, SeededEntity
from tests.bench.common import KEY_SCHEMA_FILE, VALUE_SCHEMA_FILE, Event, producer, schema_texts


def _contact_events(generator: CrmCdcGenerator, size: int) -> Iterator[CdcEvent]:
    """The first ``size`` contact events of ``generator``."""
    kept = 0
    # The generator mixes contacts and accounts (about 4:1); ask for enough and keep the contacts.
    for event in generator.events(size * 2):
        if event.topic != CONTACTS_TOPIC:
            continue
        yield event
        kept += 1
        if kept >= size:
            return


def generate_pool(registry_url: str, topic: str, size: int, seed: int = 7) -> list[Event]:
    """``size`` distinct contact events (snapshot reads, creates, updates, deletes and their tombstones) from
    the project's generator, serialized with AvroSerializer for ``topic`` (TopicNameStrategy subjects)."""
    registry = SchemaRegistryClient({"url": registry_url})
    key_text, value_text = schema_texts()
    key_ser = AvroSerializer(registry, key_text)
    value_ser = AvroSerializer(registry, value_text)
    key_ctx = SerializationContext(topic, MessageField.KEY)
    value_ctx = SerializationContext(topic, MessageField.VALUE)
    pool: list[Event] = []
    for event in _contact_events(CrmCdcGenerator(seed), size):
        key = key_ser(event.key, key_ctx)
        value = value_ser(event.value, value_ctx) if event.value is not None else None
        pool.append((key, value))
    return pool


def pool_note_entities(size: int, seed: int = 7) -> dict[str, tuple[SeededEntity, ...]]:
    """The ground truth of the notes in ``generate_pool(..., size, seed)``: notes text -> the personal data the
    generator wrote into it (the same seed gives the same events, so the generator is run again)."""
    generator = CrmCdcGenerator(seed)
    for _ in _contact_events(generator, size):
        pass
    return generator.note_entities


def decoded_contacts(
    size: int, seed: int = 7
) -> tuple[list[tuple[dict[str, Any], dict[str, Any] | None]], dict[str, tuple[SeededEntity, ...]]]:
    """Without a registry: the pool ``decode_pool(generate_pool(..., size, seed))`` gives (each event through
    fastavro with the contacts schemas), and the ground truth of its notes."""
    key_schema = parse_schema(json.loads(KEY_SCHEMA_FILE.read_text()))
    value_schema = parse_schema(json.loads(VALUE_SCHEMA_FILE.read_text()))
    generator = CrmCdcGenerator(seed)
    decoded = []
    for event in _contact_events(generator, size):
        decoded.append((_roundtrip(event.key, key_schema), _roundtrip(event.value, value_schema)))
    return decoded, generator.note_entities


def _roundtrip(record: dict[str, Any] | None, schema: Any) -> Any:
    if record is None:
        return None
    out = io.BytesIO()
    schemaless_writer(out, schema, record)
    out.seek(0)
    return schemaless_reader(out, schema, None)


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
