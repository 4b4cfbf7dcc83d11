"""SchemaCache over confluent-kafka's in-memory mock registry (``mock://``): unit tests only."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.errors import AnonymizationError, ReasonCode, RegistryError
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
    cache = SchemaCache(client)  # type: ignore[arg-type]

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
    """Fails the first ``failures`` calls with ``error`` (a SchemaRegistryError or a connection error)."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0
        self.register_calls = 0

    def get_schema(self, schema_id: int) -> Schema:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return Schema(json.dumps(RECORD), "AVRO")

    def get_versions(self, subject: str) -> list[int]:
        return self.get_schema(0) and [1]  # type: ignore[return-value]

    def register_schema(self, subject: str, schema: Schema) -> int:
        self.register_calls += 1
        self.get_schema(0)
        return 7

    def lookup_schema(self, subject: str, schema: Schema) -> Schema:
        raise SchemaRegistryError(404, 40403, "schema not found")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []

    async def no_sleep(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr("streams.kafka.registry.asyncio.sleep", no_sleep)
    return waited


TRANSIENT = [
    SchemaRegistryError(503, 50301, "unavailable"),
    SchemaRegistryError(500, 50001, "error"),
    SchemaRegistryError(401, 40101, "unauthorized"),
    SchemaRegistryError(403, 40301, "forbidden"),
    SchemaRegistryError(429, 42901, "slow down"),
    SchemaRegistryError(404, -1, "a proxy's bare 404"),
    ConnectionRefusedError(),
    TimeoutError(),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__ + str(getattr(e, "http_status_code", "")))
def test_transient_registry_errors_stall_never_dead_letter(error: Exception, sleeps: list[float]) -> None:
    """A long outage (500 failed calls) stalls the caller with bounded backoff, then the schema is served."""
    client = FlakyClient(failures=500, error=error)
    cache = SchemaCache(client)  # type: ignore[arg-type]
    writer = asyncio.run(cache.writer_schema(1))
    assert writer.schema == RECORD
    assert client.calls == 501
    assert max(sleeps) == 5.0 and sleeps[0] < sleeps[1]  # exponential, bounded
    assert cache.stall.stalls == 1 and cache.stall.failed_calls == 500


def test_backoff_is_per_client_not_per_record(sleeps: list[float]) -> None:
    """Records behind a stalled one do not each restart the backoff from the first delay."""
    client = FlakyClient(failures=20, error=SchemaRegistryError(503, 50301, "unavailable"))
    cache = SchemaCache(client)  # type: ignore[arg-type]
    stall = cache.stall
    for _ in range(10):
        stall.failed("get_schema", "HTTP 503")
    assert stall.failed("get_schema", "HTTP 503") == 5.0
    stall.succeeded()
    assert stall.failed("get_schema", "HTTP 503") == 0.2
    assert stall.stalls == 2


def test_stall_is_logged_once_per_stall(sleeps: list[float]) -> None:
    from structlog.testing import capture_logs

    client = FlakyClient(failures=50, error=SchemaRegistryError(503, 50301, "unavailable"))
    with capture_logs() as logs:
        asyncio.run(SchemaCache(client).writer_schema(1))  # type: ignore[arg-type]
    events = [entry["event"] for entry in logs]
    assert events.count("registry_stalled") == 1
    assert events.count("registry_recovered") == 1
    assert len(events) == 2


def test_a_401_while_registering_is_not_cached(sleeps: list[float]) -> None:
    client = FlakyClient(failures=3, error=SchemaRegistryError(401, 40101, "unauthorized"))
    cache = SchemaCache(client)  # type: ignore[arg-type]
    assert asyncio.run(cache.register("out-value", RECORD)) == 7


@pytest.mark.parametrize("status", [409, 422])
def test_a_definitive_refusal_to_register_is_raised(status: int, sleeps: list[float]) -> None:
    client = FlakyClient(failures=10, error=SchemaRegistryError(status, status * 100 + 1, "incompatible"))
    with pytest.raises(RegistryError) as info:
        asyncio.run(SchemaCache(client).register("out-value", RECORD))  # type: ignore[arg-type]
    assert info.value.http_status == status
    # a 409 is looked up (it may be another writer's concurrent first registration) and registered once more
    assert client.register_calls == (2 if status == 409 else 1) and sleeps == []


def test_only_not_found_is_an_unknown_schema_id(sleeps: list[float]) -> None:
    client = FlakyClient(failures=10, error=SchemaRegistryError(404, 40403, "schema not found"))
    with pytest.raises(AnonymizationError) as info:
        asyncio.run(SchemaCache(client).writer_schema(1))  # type: ignore[arg-type]
    assert info.value.code is ReasonCode.UNKNOWN_SCHEMA_ID
    assert client.calls == 1 and sleeps == []


def test_non_avro_writer_schema_is_refused() -> None:
    client = mock_client()
    schema_id = client.register_schema("j-value", Schema(json.dumps({"type": "object"}), "JSON"))
    with pytest.raises(AnonymizationError) as info:
        asyncio.run(SchemaCache(client).writer_schema(schema_id))
    assert info.value.code is ReasonCode.AVRO_DECODE_ERROR


class SharedSubjects:
    """A registry in the manner of Apicurio's ccompat API: a first write of a subject's compatibility rule or
    schema that finds it already made by another writer is refused with 409. ``other_writer_first`` makes
    another worker win each first write between this worker's look and its write (the race of two replicas,
    or two pipeline processes, starting on the same new output subject)."""

    def __init__(self, *, other_writer_first: bool, compatible: bool = True) -> None:
        self.other_writer_first = other_writer_first
        self.compatible = compatible
        self.rules: dict[str, str] = {}
        self.schemas: dict[str, list[str]] = {}
        self.calls: list[str] = []

    def get_versions(self, subject: str) -> list[int]:
        self.calls.append("get_versions")
        if subject not in self.schemas:
            raise SchemaRegistryError(404, 40401, "subject not found")
        return list(range(1, len(self.schemas[subject]) + 1))

    def set_compatibility(self, subject: str, level: str) -> dict[str, str]:
        self.calls.append("set_compatibility")
        if self.other_writer_first:
            self.rules[subject] = level
        if subject in self.rules:
            raise SchemaRegistryError(409, 409, "A rule named 'COMPATIBILITY' already exists.")
        self.rules[subject] = level
        return {"compatibility": level}

    def register_schema(self, subject: str, schema: Schema) -> int:
        self.calls.append("register_schema")
        text = schema.schema_str or ""
        if self.other_writer_first and subject not in self.schemas:
            self.schemas[subject] = [text]
            raise SchemaRegistryError(409, 409, "artifact already exists")
        if not self.compatible and subject in self.schemas and text not in self.schemas[subject]:
            raise SchemaRegistryError(409, 409, "incompatible schema")
        versions = self.schemas.setdefault(subject, [])
        if text not in versions:
            versions.append(text)
        return 100 + versions.index(text)

    def lookup_schema(self, subject: str, schema: Schema) -> Any:
        self.calls.append("lookup_schema")
        versions = self.schemas.get(subject, [])
        if schema.schema_str not in versions:
            raise SchemaRegistryError(404, 40403, "schema not found")
        return type("Registered", (), {"schema_id": 100 + versions.index(schema.schema_str)})()


def test_a_subject_created_by_another_worker_at_the_same_moment_is_not_a_refusal(sleeps: list[float]) -> None:
    """Both workers see the new output subject missing; the other one's compatibility rule and first version
    land first. This worker's 409s are the race, not an answer about the schema: it gets the same id."""
    from structlog.testing import capture_logs

    registry = SharedSubjects(other_writer_first=True)
    with capture_logs() as logs:
        schema_id = asyncio.run(
            SchemaCache(registry).register("anon-key", RECORD, new_subject_compatibility="BACKWARD")  # type: ignore[arg-type]
        )
    assert schema_id == 100
    assert registry.calls == ["get_versions", "set_compatibility", "register_schema", "lookup_schema"]
    assert registry.rules == {"anon-key": "BACKWARD"}
    events = [entry["event"] for entry in logs]
    assert "registry_compatibility_set_concurrently" in events
    assert "registry_schema_registered_concurrently" in events
    assert sleeps == []


def test_a_conflict_whose_schema_is_not_there_gets_one_more_registration(sleeps: list[float]) -> None:
    """A 409 while the other writer's version is not yet visible: one more registration gets the answer."""

    class VersionNotYetVisible(SharedSubjects):
        def lookup_schema(self, subject: str, schema: Schema) -> Any:
            self.calls.append("lookup_schema")
            self.other_writer_first = False
            raise SchemaRegistryError(404, 40401, "subject not found")

    registry = VersionNotYetVisible(other_writer_first=True)
    schema_id = asyncio.run(SchemaCache(registry).register("anon-value", RECORD))  # type: ignore[arg-type]
    assert schema_id == 100
    assert registry.calls == ["register_schema", "lookup_schema", "register_schema"]


def test_an_incompatible_schema_is_still_refused_after_the_lookup(sleeps: list[float]) -> None:
    registry = SharedSubjects(other_writer_first=False, compatible=False)
    registry.schemas["anon-value"] = [json.dumps({"type": "record", "name": "t.Old", "fields": []})]
    with pytest.raises(RegistryError) as info:
        asyncio.run(SchemaCache(registry).register("anon-value", RECORD, new_subject_compatibility="BACKWARD"))  # type: ignore[arg-type]
    assert info.value.http_status == 409
    # the subject existed, so its settings were kept; the lookup found nothing, the retry got the final answer
    assert registry.calls == ["get_versions", "register_schema", "lookup_schema", "register_schema"]
    assert registry.rules == {}


def test_a_refused_compatibility_rule_other_than_a_conflict_is_raised(sleeps: list[float]) -> None:
    class RefusesTheLevel(SharedSubjects):
        def set_compatibility(self, subject: str, level: str) -> dict[str, str]:
            raise SchemaRegistryError(422, 42203, "invalid compatibility level")

    with pytest.raises(RegistryError) as info:
        asyncio.run(
            SchemaCache(RefusesTheLevel(other_writer_first=False)).register(  # type: ignore[arg-type]
                "anon-value", RECORD, new_subject_compatibility="BACKWARD"
            )
        )
    assert info.value.http_status == 422
