"""Schema registry access with caches: one HTTP call per schema id or output schema, not per event.

The confluent-kafka client is synchronous; cache misses run in a worker thread so the event loop keeps going.
Transient registry failures stall the batch (``RegistryStall``: bounded backoff, logged once, counted) rather
than dead-lettering good events; only an id the registry says does not exist (code 40403) is a property of
the event and goes to the dead-letter topic.

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
NOT_FOUND_CODES = (40400, 40401, 40402, 40403)


class RegistryStall:
    """Bounded exponential backoff over every registry call of one client, shared across calls.

    A transient failure (connection error, timeout, HTTP 5xx, 401/403, 408, 429, an answer that is not the
    registry's) stalls the caller until the registry answers again: a batch waits, it never dead-letters good
    events. The backoff is per client, not per call, so the records of a batch behind a stalled one do not
    each start their own retries. Logged once when the stall starts, then every ``REMIND_S``; counted.
    """

    REMIND_S = 30.0

    def __init__(self, *, first_delay_s: float = 0.2, max_delay_s: float = 5.0) -> None:
        self._first, self._max = first_delay_s, max_delay_s
        self._delay = first_delay_s
        self._since: float | None = None
        self._reminded = 0.0
        self.stalls = 0  # stalls started (a metric: a dashboard counts them)
        self.failed_calls = 0

    def failed(self, what: str, error: str) -> float:
        """Record a transient failure; returns the delay to wait before the next attempt."""
        now = time.monotonic()
        self.failed_calls += 1
        if self._since is None:
            self._since, self._reminded = now, now
            self.stalls += 1
            log.warning("registry_stalled", what=what, error=error, stalls=self.stalls)
        elif now - self._reminded >= self.REMIND_S:
            self._reminded = now
            log.warning("registry_still_stalled", what=what, error=error, stalled_s=round(now - self._since, 1))
        delay = self._delay
        self._delay = min(self._delay * 2, self._max)
        COUNTERS.errors += 1  # for the metrics (registry errors, stall time)
        COUNTERS.stalled_s += delay
        return delay

    def succeeded(self) -> None:
        if self._since is not None:
            log.info("registry_recovered", stalled_s=round(time.monotonic() - self._since, 1))
        self._since, self._delay = None, self._first


def definitive(exc: SchemaRegistryError) -> RegistryError | None:
    """The registry's own, final answer (not found, incompatible, invalid), or None for a transient failure.

    A 404 counts only with the registry's "not found" codes (Confluent's 40401-40403, which Apicurio's ccompat
    API returns too; confluent-kafka's mock registry says 40400): a bare 404 is a proxy or a wrong URL path,
    which must not dead-letter every event as an unknown schema id.
    """
    status, code = exc.http_status_code, exc.error_code
    if status == 404 and code in NOT_FOUND_CODES:
        return RegistryError("registry", status, code)
    if status in (400, 409, 422):
        return RegistryError("registry", status, code)
    return None


def call_with_stall(stall: RegistryStall, what: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)``, retried through transient failures (blocking: the CLI and start-up checks)."""
    while True:
        try:
            result = fn(*args)
        except SchemaRegistryError as exc:
            final = definitive(exc)
            if final is not None:
                stall.succeeded()
                raise RegistryError(what, final.http_status, final.error_code) from None
            time.sleep(stall.failed(what, f"HTTP {exc.http_status_code}"))
            continue
        except Exception as exc:  # connection errors and timeouts from httpx
            time.sleep(stall.failed(what, type(exc).__name__))
            continue
        stall.succeeded()
        return result


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
        self._stall = RegistryStall()

    def get(self, subject: str) -> Any | None:
        try:
            registered = call_with_stall(
                self._stall, f"latest version of {subject}", self._client.get_latest_version, subject
            )
        except RegistryError as exc:
            if exc.not_found:
                return None
            raise
        return json.loads(registered.schema.schema_str or "null")


class SchemaCache:
    """The pipeline's :class:`~streams.ports.SchemaSource` over a confluent-kafka ``SchemaRegistryClient``."""

    def __init__(self, client: SchemaRegistryClient, *, stall: RegistryStall | None = None) -> None:
        self._client = client
        self._by_id: dict[int, WriterSchema] = {}
        self._missing: dict[int, float] = {}
        self._registered: dict[tuple[str, str], int] = {}
        self.stall = stall or RegistryStall()

    async def _call(self, what: str, fn: Any, *args: Any) -> Any:
        while True:
            try:
                result = await asyncio.to_thread(fn, *args)
            except SchemaRegistryError as exc:
                final = definitive(exc)
                if final is not None:
                    self.stall.succeeded()
                    raise RegistryError(what, final.http_status, final.error_code) from None
                await asyncio.sleep(self.stall.failed(what, f"HTTP {exc.http_status_code}"))
                continue
            except Exception as exc:  # connection errors and timeouts from httpx
                await asyncio.sleep(self.stall.failed(what, type(exc).__name__))
                continue
            self.stall.succeeded()
            return result

    async def writer_schema(self, schema_id: int) -> WriterSchema:
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        missing_since = self._missing.get(schema_id)
        if missing_since is not None and time.monotonic() - missing_since < NOT_FOUND_TTL_S:
            raise AnonymizationError(ReasonCode.UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not in the registry")
        try:
            schema: Schema = await self._call("get_schema", self._client.get_schema, schema_id)
        except RegistryError as exc:
            if not exc.not_found:  # a 400/409/422 for a read by id: not an answer about this id
                raise AnonymizationError(
                    ReasonCode.UNKNOWN_SCHEMA_ID,
                    f"registry refused to look up schema id {schema_id} (HTTP {exc.http_status})",
                ) from None
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
        registered = Schema(text, "AVRO")
        if new_subject_compatibility and not any(s == subject for s, _ in self._registered):
            await self._set_compatibility_if_new(subject, new_subject_compatibility)
        try:
            schema_id: int = await self._call("register_schema", self._client.register_schema, subject, registered)
        except RegistryError as refusal:
            if refusal.http_status != 409:
                raise
            schema_id = await self._after_conflict(subject, registered)
        self._registered[cache_key] = schema_id
        return schema_id

    async def _set_compatibility_if_new(self, subject: str, level: str) -> None:
        try:
            await self._call("get_versions", self._client.get_versions, subject)
            return  # the subject exists: its settings are the operator's
        except RegistryError as exc:
            if not exc.not_found:
                raise
        try:
            await self._call("set_compatibility", self._client.set_compatibility, subject, level)
        except RegistryError as exc:
            # Two workers (replicas, or the pipeline's processes) creating the same subject at once both see it
            # missing; Apicurio refuses the second write with 409 "a rule named COMPATIBILITY already exists".
            # The first write stands, and it is ours or another worker's with the same policy.
            if exc.http_status != 409:
                raise
            log.info("registry_compatibility_set_concurrently", subject=subject)

    async def _after_conflict(self, subject: str, schema: Schema) -> int:
        """The id after a 409 to a registration: an incompatible schema, or the losing side of two concurrent
        first registrations of one subject (Apicurio answers 409 to the loser). The registry's lookup tells
        them apart: a subject that holds this very schema now has answered; otherwise one more registration,
        made after the other writer finished, gets the registry's final answer, which is raised as it is."""
        try:
            found = await self._call("lookup_schema", self._client.lookup_schema, subject, schema)
            log.info("registry_schema_registered_concurrently", subject=subject)
            return int(found.schema_id)
        except RegistryError as exc:
            if not exc.not_found:
                raise
        retried: int = await self._call("register_schema", self._client.register_schema, subject, schema)
        return retried
