"""Produce generated events through an independent confluent-kafka producer with AvroSerializer."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.devtools.generator.debezium import ACCOUNTS_TOPIC, CONTACTS_TOPIC, CdcEvent
from streams.kafka.config import registry_client, reliable_producer_config
from streams.settings import SCHEMA_DIR as SCHEMAS
from streams.settings import ConnectionSettings

SCHEMA_DIR = SCHEMAS / "debezium"
SCHEMA_DIRS = (SCHEMA_DIR, SCHEMA_DIR.parent / "salesforce")  # looked up in this order, by topic
TOPICS = (CONTACTS_TOPIC, ACCOUNTS_TOPIC)


def _schema_text(topic: str, part: str) -> str:
    name = f"{topic}-{part}.avsc"
    path = next((d / name for d in SCHEMA_DIRS if (d / name).is_file()), SCHEMA_DIR / name)
    return json.dumps(json.loads(path.read_text()))


class CdcProducer:
    def __init__(self, conn: ConnectionSettings, *, linger_ms: int = 20) -> None:
        self._registry = registry_client(conn)
        # lz4, as Debezium/Connect producers often do: the worker must read compressed input.
        self._producer = Producer(reliable_producer_config(conn, linger_ms=linger_ms))
        self._serializers: dict[tuple[str, str], AvroSerializer] = {}
        self.errors: list[str] = []

    def _serializer(self, topic: str, part: str) -> AvroSerializer:
        cached = self._serializers.get((topic, part))
        if cached is None:
            cached = AvroSerializer(self._registry, _schema_text(topic, part), conf={"auto.register.schemas": True})
            self._serializers[(topic, part)] = cached
        return cached

    def _on_delivery(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self.errors.append(str(err.code()))

    def produce(self, events: Iterable[CdcEvent]) -> int:
        count = 0
        for event in events:
            key = self._serializer(event.topic, "key")(event.key, SerializationContext(event.topic, MessageField.KEY))
            value = (
                self._serializer(event.topic, "value")(
                    event.value, SerializationContext(event.topic, MessageField.VALUE)
                )
                if event.value is not None
                else None
            )
            while True:
                try:
                    self._producer.produce(event.topic, key=key, value=value, on_delivery=self._on_delivery)
                    break
                except BufferError:
                    self._producer.poll(0.05)
            self._producer.poll(0)
            count += 1
        return count

    def flush(self, timeout: float = 60.0) -> None:
        remaining = self._producer.flush(timeout)
        if remaining or self.errors:
            raise RuntimeError(f"{remaining} events undelivered, {len(self.errors)} delivery errors")
