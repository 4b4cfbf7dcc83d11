"""Schema registry access with caches: one HTTP call per schema id or output schema, not per event.

The confluent-kafka client is synchronous; cache misses run in a worker thread so the event loop keeps going.
Transient registry failures are retried (the batch waits) rather than dead-lettering good events; an id the
registry says does not exist is a property of the event and goes to the dead-letter topic.

confluent-kafka's ``SchemaRegistryError`` stops here: callers see :class:`~streams.errors.RegistryError` or
:class:`~streams.errors.AnonymizationError`, so the pipeline never imports a client library.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import structlog
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from fastavro import parse_schema

from streams.errors import AnonymizationError, ReasonCode, RegistryError
from streams.kafka.config import registry_client
from streams.ports import BatchStats, WriterSchema
from streams.settings import ConnectionSettings

log = structlog.get_logger(__name__)

NOT_FOUND_TTL_S = 30.0


class RegistryCounters:
    """Retried registry failures and the seconds waited on them, in this process; the batch loop moves them
    into each batch's :class:`~streams.ports.BatchStats` (``add_to``) for the metrics."""

    __slots__ = ("errors", "stalled_s")

    def __init__(self) -> None:
        self.errors = 0
        self.stalled_s = 0.0

    def add_to(self, stats: BatchStats) -> BatchStats:
        stats.registry_errors += self.errors
        stats.registry_stall_s += self.stalled_s
        self.errors, self.stalled_s = 0, 0.0
        return stats


COUNTERS = RegistryCounters()


class RegistrySchemas:
    """Latest schema per subject (``policy lint --registry``, ``policy init``): a ``SubjectSchemas``."""

    def __init__(self, conn: ConnectionSettings) -> None:
        self._client = registry_client(conn)

    def get(self, subject: str) -> Any | None:
        try:
            registered = self._client.get_latest_version(subject)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                return None
            raise RegistryError(f"latest version of {subject}", exc.http_status_code, exc.error_code) from None
        return json.loads(registered.schema.schema_str or "null")


class SchemaCache:
    """The pipeline's :class:`~streams.ports.SchemaSource` over a confluent-kafka ``SchemaRegistryClient``."""

    def __init__(self, client: SchemaRegistryClient, *, max_retry_s: float = 60.0) -> None:
        self._client = client
        self._by_id: dict[int, WriterSchema] = {}
        self._missing: dict[int, float] = {}
        self._registered: dict[tuple[str, str], int] = {}
        self._max_retry_s = max_retry_s

    async def _call(self, what: str, fn: Any, *args: Any) -> Any:
        delay, waited = 0.2, 0.0
        while True:
            try:
                return await asyncio.to_thread(fn, *args)
            except SchemaRegistryError as exc:
                translated = RegistryError(what, exc.http_status_code, exc.error_code)
                if translated.not_found:
                    raise translated from None
                if exc.http_status_code and 400 <= exc.http_status_code < 500 and exc.http_status_code != 429:
                    raise translated from None
                error: Exception = exc
            except Exception as exc:  # connection errors from httpx
                error = exc
            if waited >= self._max_retry_s:
                raise AnonymizationError(ReasonCode.REGISTRY_UNAVAILABLE, f"{what}: {type(error).__name__}")
            log.warning("registry_retry", what=what, error=type(error).__name__, delay_s=delay)
            COUNTERS.errors += 1
            await asyncio.sleep(delay)
            waited += delay
            COUNTERS.stalled_s += delay
            delay = min(delay * 2, 5.0)

    async def writer_schema(self, schema_id: int) -> WriterSchema:
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        missing_since = self._missing.get(schema_id)
        if missing_since is not None and time.monotonic() - missing_since < NOT_FOUND_TTL_S:
            raise AnonymizationError(ReasonCode.UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not in the registry")
        try:
            schema: Schema = await self._call("get_schema", self._client.get_schema, schema_id)
        except RegistryError:
            self._missing[schema_id] = time.monotonic()
            raise AnonymizationError(
                ReasonCode.UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not in the registry"
            ) from None
        if (schema.schema_type or "AVRO") != "AVRO":
            raise AnonymizationError(ReasonCode.AVRO_DECODE_ERROR, f"schema id {schema_id} is {schema.schema_type}")
        as_json = json.loads(schema.schema_str or "null")
        writer = WriterSchema(schema_id, as_json, parse_schema(as_json))
        self._by_id[schema_id] = writer
        return writer

    async def register(self, subject: str, schema: Any, *, new_subject_compatibility: str | None = None) -> int:
        """Register (or look up) ``schema`` under ``subject``; the registry checks compatibility.

        ``new_subject_compatibility`` is set on a subject that does not exist yet (before its first
        version), so the registry itself refuses incompatible changes later; existing settings are kept.
        """
        text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
        cache_key = (subject, text)
        if cache_key in self._registered:
            return self._registered[cache_key]
        if new_subject_compatibility and not any(s == subject for s, _ in self._registered):
            try:
                await self._call("get_versions", self._client.get_versions, subject)
            except RegistryError:
                await self._call(
                    "set_compatibility", self._client.set_compatibility, subject, new_subject_compatibility
                )
        schema_id: int = await self._call(
            "register_schema", self._client.register_schema, subject, Schema(text, "AVRO")
        )
        self._registered[cache_key] = schema_id
        return schema_id
