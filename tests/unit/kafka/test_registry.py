"""SchemaCache over confluent-kafka's in-memory mock registry (``mock://``): unit tests only."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.errors import AnonymizationError, ReasonCode
from streams.kafka.registry import SchemaCache

RECORD = {"type": "record", "name": "t.R", "fields": [{"name": "id", "type": "long"}]}


def mock_client() -> SchemaRegistryClient:
    return SchemaRegistryClient.new_client({"url": "mock://unit-test"})


class CountingClient:
    def __init__(self, inner: SchemaRegistryClient) -> None:
        self.inner = inner
        self.get_calls = 0
        self.register_calls = 0

    def get_schema(self, schema_id: int) -> Schema:
        self.get_calls += 1
        return self.inner.get_schema(schema_id)

    def register_schema(self, subject: str, schema: Schema) -> int:
        self.register_calls += 1
        return self.inner.register_schema(subject, schema)


def test_writer_schema_is_fetched_once_and_parsed() -> None:
    client = CountingClient(mock_client())
    schema_id = client.inner.register_schema("t-value", Schema(json.dumps(RECORD), "AVRO"))
    cache = SchemaCache(client)  # type: ignore[arg-type]

    async def run() -> Any:
        first = await cache.writer_schema(schema_id)
        second = await cache.writer_schema(schema_id)
        return first, second

    first, second = asyncio.run(run())
    assert first is second
    assert first.schema_id == schema_id
    assert first.schema == RECORD
    assert first.parsed["name"] == "t.R"
    assert client.get_calls == 1


def test_unknown_schema_id_is_a_per_event_error_and_cached() -> None:
    client = CountingClient(mock_client())
    cache = SchemaCache(client, max_retry_s=0)  # type: ignore[arg-type]

    async def run() -> list[AnonymizationError]:
        errors = []
        for _ in range(3):
            with pytest.raises(AnonymizationError) as info:
                await cache.writer_schema(4242)
            errors.append(info.value)
        return errors

    errors = asyncio.run(run())
    assert all(e.code is ReasonCode.UNKNOWN_SCHEMA_ID for e in errors)
    assert "4242" in errors[0].detail
    assert client.get_calls == 1  # the miss is remembered for a while


def test_register_is_cached_per_subject_and_schema() -> None:
    client = CountingClient(mock_client())
    cache = SchemaCache(client)  # type: ignore[arg-type]

    async def run() -> tuple[int, int, int]:
        a = await cache.register("out-value", RECORD)
        b = await cache.register("out-value", json.loads(json.dumps(RECORD)))
        c = await cache.register("other-value", RECORD)
        return a, b, c

    a, b, c = asyncio.run(run())
    assert a == b
    assert client.register_calls == 2
    assert json.loads(client.inner.get_schema(c).schema_str) == RECORD


class FlakyClient:
    def __init__(self, failures: int, status: int) -> None:
        self.failures = failures
        self.status = status
        self.calls = 0

    def get_schema(self, schema_id: int) -> Schema:
        self.calls += 1
        if self.calls <= self.failures:
            raise SchemaRegistryError(self.status, self.status * 100, "unavailable")
        return Schema(json.dumps(RECORD), "AVRO")


def test_transient_registry_errors_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("streams.kafka.registry.asyncio.sleep", no_sleep)
    client = FlakyClient(failures=2, status=503)
    cache = SchemaCache(client, max_retry_s=60)  # type: ignore[arg-type]
    writer = asyncio.run(cache.writer_schema(1))
    assert writer.schema == RECORD
    assert client.calls == 3


def test_registry_unavailable_after_retry_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("streams.kafka.registry.asyncio.sleep", no_sleep)
    client = FlakyClient(failures=10_000, status=503)
    cache = SchemaCache(client, max_retry_s=1.0)  # type: ignore[arg-type]
    with pytest.raises(AnonymizationError) as info:
        asyncio.run(cache.writer_schema(1))
    assert info.value.code is ReasonCode.REGISTRY_UNAVAILABLE
    assert client.calls > 1


def test_non_avro_writer_schema_is_refused() -> None:
    client = mock_client()
    schema_id = client.register_schema("j-value", Schema(json.dumps({"type": "object"}), "JSON"))
    with pytest.raises(AnonymizationError) as info:
        asyncio.run(SchemaCache(client).writer_schema(schema_id))
    assert info.value.code is ReasonCode.AVRO_DECODE_ERROR
