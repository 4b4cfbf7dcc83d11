"""One batch of raw Kafka records in, anonymized + audit + dead-letter records out, through a ``Sink``.

Framework-free: it sees only the ports (``streams.ports``). The Faust agent hands it records, the composition
root (``streams.processor.compose``) gives it a sink and a schema source; tests hand it lists. Every input record
yields exactly one audit record and exactly one of (anonymized record, dead-letter record). Sends for the
whole batch are started, then drained together, so the batch is acknowledged only once its outputs are on
the broker (at-least-once) without a round trip per event.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from fastavro import parse_schema

from streams import __version__
from streams.audit import AUDIT_SCHEMA, AuditEncoder, PolicyRef, SourcePosition, anonymization_audit
from streams.avro import wire
from streams.core import EventIn, EventOut, anonymize_batch
from streams.deadletter import DEAD_LETTER_SCHEMA, DeadLetterSealer
from streams.envelope.base import CompiledKey, EnvelopePlan
from streams.envelope.metadata import kafka_timestamp_action, output_timestamp
from streams.envelope.registry import envelope_for
from streams.errors import AnonymizationError, PolicyError, ReasonCode, RegistryError
from streams.k_anonymity import GENERALIZED_K, SUPPRESSED_K, counters_for
from streams.keys import KeyRing
from streams.policy.loader import LoadedPolicy
from streams.policy.model import SourcePolicy
from streams.ports import BatchStats, Delivery, DeliveryError, Headers, RawRecord, SchemaSource, Sink
from streams.subject_state import EMPTY_STATE, decode_state, encode_state, needs_subject_state, state_key

log = structlog.get_logger(__name__)

CompiledT = TypeVar("CompiledT")


@dataclass(frozen=True, slots=True)
class _Plan(Generic[CompiledT]):
    compiled: CompiledT
    schema_id_out: int
    parsed_out: Any


@dataclass(slots=True)
class _Prepared:
    record: RawRecord
    source: SourcePolicy
    key_id: int | None
    key: dict[str, Any] | None
    key_plan: _Plan[CompiledKey] | None
    value_id: int | None
    value: dict[str, Any] | None
    value_plan: _Plan[EnvelopePlan] | None
    state: dict[str, Any] | None = None


class _Failed(Exception):
    """A record that goes to the dead-letter topic, with what is known about it."""

    def __init__(self, record: RawRecord, error: AnonymizationError, schema_ids: tuple[int | None, int | None]) -> None:
        super().__init__(str(error))
        self.record = record
        self.error = error
        self.schema_ids = schema_ids


class Pipeline:
    """The in-process :class:`~streams.ports.BatchProcessor`."""

    def __init__(
        self,
        loaded: LoadedPolicy,
        keyring: KeyRing,
        schemas: SchemaSource,
        sink: Sink,
        sealer: DeadLetterSealer,
        *,
        audit_topic: str,
        dead_letter_topic: str,
        state_secret: bytes | None = None,
        k_secret: bytes | None = None,
        max_record_bytes: int = 1_000_000,
        published_outcome: str = "PUBLISHED",
    ) -> None:
        self._policy = loaded.policy
        self._ref = PolicyRef(loaded.policy.id, loaded.policy.version, loaded.content_hash)
        self._keyring = keyring
        self._schemas = schemas
        self._sink = sink
        self._sealer = sealer
        self._audit_topic = audit_topic
        self._dead_letter_topic = dead_letter_topic
        self._max_record_bytes = max_record_bytes
        self._published_outcome = published_outcome  # REPLAYED when replaying dead letters
        self._plans: dict[str, dict[tuple[str, int], _Plan[Any] | AnonymizationError]] = {"key": {}, "value": {}}
        self._kafka_timestamps = {s.topic: kafka_timestamp_action(s) for s in loaded.policy.sources}
        self._state_secret = state_secret  # None: no durable subject state (DP falls back to per-process caches)
        self._stateful_topics = {s.topic for s in loaded.policy.sources if needs_subject_state(s)}
        # k-anonymity class counts per source topic. Without a stable secret (an evaluation, a test) the counts
        # live only in this process, under a random key.
        self._k = counters_for(loaded.policy, k_secret or secrets.token_bytes(32))
        self._audit_schema_id: int | None = None
        self._audit_encoder = AuditEncoder()
        self._must_deliver: list[Delivery] = []  # audit and dead-letter records of the current batch
        self._dead_letter_schema: tuple[int, Any] | None = None
        self._provenance: Headers = [
            ("crm-anonymizer-anonymized", b"true"),
            ("crm-anonymizer-policy-id", loaded.policy.id.encode()),
            ("crm-anonymizer-policy-version", str(loaded.policy.version).encode()),
            ("crm-anonymizer-policy-hash", loaded.content_hash.encode()),
            ("crm-anonymizer-processor-version", __version__.encode()),
        ]

    @property
    def source_topics(self) -> list[str]:
        return [s.topic for s in self._policy.sources]

    async def start(self) -> None:
        """Register the audit and dead-letter schemas (once, before the first batch)."""
        self._audit_schema_id = await self._schemas.register(f"{self._audit_topic}-value", AUDIT_SCHEMA)
        dlq_id = await self._schemas.register(f"{self._dead_letter_topic}-value", DEAD_LETTER_SCHEMA)
        self._dead_letter_schema = (dlq_id, parse_schema(DEAD_LETTER_SCHEMA))

    def close(self) -> None:
        self._sink.close()

    async def load_counts(self, counts: Mapping[str, Mapping[bytes, bytes]]) -> None:
        for topic, counter in self._k.items():
            counter.load(counts.get(topic, {}))

    # -- plans (compiled once per source and writer schema) -------------------------------------------
    async def _register_out(self, subject: str, schema: Any) -> int:
        try:
            return await self._schemas.register(subject, schema, new_subject_compatibility="BACKWARD")
        except RegistryError as exc:
            raise AnonymizationError(
                ReasonCode.OUTPUT_SCHEMA_REJECTED,
                f"registry refused the derived schema for {subject} (HTTP {exc.http_status})",
            ) from None

    async def _plan(self, part: str, source: SourcePolicy, schema_id: int) -> _Plan[Any]:
        """The compiled plan for a key or value writer schema, compiled and registered once, then cached.

        Failures that belong to the schema (policy mismatch, output schema refused) are cached too, so a bad
        schema costs one compile; transient registry outages are not.
        """
        cache = self._plans[part]
        cache_key = (source.topic, schema_id)
        plan = cache.get(cache_key)
        if plan is None:
            writer = await self._schemas.writer_schema(schema_id)
            try:
                envelope = envelope_for(source.envelope)
                compile_fn = envelope.compile_key if part == "key" else envelope.compile_value
                compiled = compile_fn(source, writer.schema, self._keyring)
                out_id = await self._register_out(f"{source.output_topic}-{part}", compiled.output_schema)
                plan = _Plan(compiled, out_id, parse_schema(compiled.output_schema))
                log.info(
                    "policy_compiled",
                    topic=source.topic,
                    part=part,
                    schema_id=schema_id,
                    schema_id_out=out_id,
                    uncovered=list(compiled.uncovered),
                )
            except PolicyError as exc:
                plan = AnonymizationError(ReasonCode.POLICY_SCHEMA_MISMATCH, f"{part} schema {schema_id}: {exc}")
            except AnonymizationError as exc:
                if exc.code == ReasonCode.REGISTRY_UNAVAILABLE:
                    raise  # transient: not a property of the schema, so not cached
                plan = exc
            cache[cache_key] = plan
            if isinstance(plan, AnonymizationError):
                log.error(
                    "plan_failed",
                    topic=source.topic,
                    part=part,
                    schema_id=schema_id,
                    reason=str(plan.code),
                    detail=plan.detail,
                )
        if isinstance(plan, AnonymizationError):
            raise plan
        return plan

    # -- per batch -----------------------------------------------------------------------------------
    async def _prepare(self, record: RawRecord, state: dict[str, Any] | None = None) -> _Prepared:
        ids: list[int | None] = [None, None]
        try:
            source = self._policy.source_for_topic(record.topic)
            if source is None:
                raise AnonymizationError(ReasonCode.NO_POLICY_FOR_SOURCE, f"no policy source for {record.topic}")
            key = key_plan = value = value_plan = None
            if record.key is not None:
                key_id, body = wire.split_frame(record.key)
                ids[0] = key_id
                key_plan = await self._plan("key", source, key_id)
                writer = await self._schemas.writer_schema(key_id)
                key = wire.decode_body(body, writer.parsed)
            if record.value is not None:
                value_id, body = wire.split_frame(record.value)
                ids[1] = value_id
                value_plan = await self._plan("value", source, value_id)
                writer = await self._schemas.writer_schema(value_id)
                value = wire.decode_body(body, writer.parsed)
            elif record.key is None:
                raise AnonymizationError(ReasonCode.NULL_KEY, "record has neither key nor value")
            return _Prepared(record, source, ids[0], key, key_plan, ids[1], value, value_plan, state)
        except AnonymizationError as exc:
            raise _Failed(record, exc, (ids[0], ids[1])) from None
        except Exception as exc:  # a bug or a library error on this record: its record fails, not the worker
            error = _unexpected("preparing the record", exc)
            raise _Failed(record, error, (ids[0], ids[1])) from None

    def state_key(self, record: RawRecord) -> bytes | None:
        if self._state_secret is None or record.topic not in self._stateful_topics:
            return None  # only sources with DP fields have subject state (the worker keeps tables for those)
        return state_key(self._state_secret, record.topic, record.key)

    async def process(self, records: Sequence[RawRecord], states: Mapping[bytes, bytes] | None = None) -> BatchStats:
        if self._audit_schema_id is None:
            await self.start()
        began = time.perf_counter()
        loaded: dict[bytes, dict[str, Any]] = {}  # one dict per subject: its records share (and update) it
        record_states: list[dict[str, Any] | None] = []
        for record in records:
            key = self.state_key(record)
            if key is None:
                record_states.append(None)
                continue
            if key not in loaded:
                loaded[key] = decode_state((states or {}).get(key))
            record_states.append(loaded[key])
        prepared: list[_Prepared | _Failed] = []
        for record, state in zip(records, record_states, strict=True):
            try:
                prepared.append(await self._prepare(record, state))
            except _Failed as failed:
                prepared.append(failed)

        # Anonymize per group of records that share plans, keeping each record's position.
        outcomes: list[EventOut | AnonymizationError | None] = [None] * len(prepared)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, item in enumerate(prepared):
            if isinstance(item, _Prepared):
                groups.setdefault((id(item.key_plan), id(item.value_plan)), []).append(i)
        for positions in groups.values():
            first = prepared[positions[0]]
            assert isinstance(first, _Prepared)
            results = anonymize_batch(
                first.key_plan.compiled if first.key_plan else None,
                first.value_plan.compiled if first.value_plan else None,
                [
                    EventIn(p.key, p.value, p.state)
                    for p in (prepared[i] for i in positions)
                    if isinstance(p, _Prepared)
                ],
                self._k.get(first.source.topic),
            )
            for i, result in zip(positions, results, strict=True):
                outcomes[i] = result

        stats = BatchStats()
        sent: list[tuple[_Prepared, EventOut, Delivery]] = []
        for item, outcome in zip(prepared, outcomes, strict=True):
            if isinstance(item, _Failed):
                self._dead_letter(item.record, item.error, item.schema_ids, stats)
                continue
            assert outcome is not None
            if isinstance(outcome, AnonymizationError):
                self._dead_letter(item.record, outcome, (item.key_id, item.value_id), stats, item.source)
                continue
            try:
                key_bytes = (
                    wire.encode(item.key_plan.schema_id_out, item.key_plan.parsed_out, outcome.key)
                    if item.key_plan is not None and outcome.key is not None
                    else None
                )
                value_bytes = (
                    wire.encode(item.value_plan.schema_id_out, item.value_plan.parsed_out, outcome.value)
                    if item.value_plan is not None and outcome.value is not None
                    else None
                )
            except Exception as exc:
                error = exc if isinstance(exc, AnonymizationError) else _unexpected("encoding the output", exc)
                self._dead_letter(item.record, error, (item.key_id, item.value_id), stats, item.source)
                continue
            headers = self._provenance + source_headers(item.record)
            if record_size(key_bytes, value_bytes, headers) > self._max_record_bytes:
                error = AnonymizationError(
                    ReasonCode.RECORD_TOO_LARGE, f"the output is larger than {self._max_record_bytes} bytes"
                )
                self._dead_letter(item.record, error, (item.key_id, item.value_id), stats, item.source)
                continue
            # The output's timestamp is the input's, coarsened as the source's metadata policy says (default: to
            # the hour), so it cannot give away what the row's date transforms hid. A record without one would be
            # stamped by the producer with the processing time (close to the event time): coarsened the same way.
            timestamp = item.record.timestamp_ms or int(time.time() * 1000)
            delivery = self._sink.send(
                item.source.output_topic,
                key_bytes,
                value_bytes,
                headers,
                output_timestamp(self._kafka_timestamps[item.source.topic], timestamp),
            )
            sent.append((item, outcome, delivery))
        clock = stats.timed("anonymize", began)

        # The PUBLISHED audits are built and encoded while the outputs are on their way (librdkafka sends from
        # its own threads), so their CPU overlaps the broker's round trip instead of following it.
        published_audits = [
            self._encode_audit(item.record, self._published_audit(item, outcome)) for item, outcome, _ in sent
        ]
        clock = stats.timed("audit", clock)
        await self._sink.drain()
        clock = stats.timed("output_drain", clock)

        # Audit only what the broker took: a refused output (say a null key on a compacted topic) is
        # dead-lettered instead, so the audit trail never says PUBLISHED for a record that is not there.
        for (item, outcome, delivery), body in zip(sent, published_audits, strict=True):
            if delivery.error is not None:
                error = AnonymizationError(
                    ReasonCode.DELIVERY_FAILED, f"broker refused the output record ({delivery.error})"
                )
                self._dead_letter(
                    item.record, error, (item.key_id, item.value_id), stats, item.source, outcome.operation
                )
                continue
            stats.note_published(item.record.topic)
            _note_privacy(stats, item.source.name, outcome)
            self._emit_audit(item.record, body, stats)
        clock = stats.timed("audit", clock)
        await self._sink.drain()
        clock = stats.timed("audit_drain", clock)
        self._raise_if_refused()
        for topic, counter in self._k.items():
            changed = counter.take_changes()
            if changed:
                stats.k_counts[topic] = changed
        stored = states or {}
        for key, state in loaded.items():
            encoded = encode_state(state)
            if encoded != stored.get(key, EMPTY_STATE):
                stats.states[key] = encoded
        stats.timed("anonymize", clock)
        return stats

    def _encode_letter(self, letter: dict[str, Any], overhead: int) -> bytes:
        """The dead letter's bytes; if it cannot be encoded (an id out of range, a bug) or would be larger than
        the broker takes, a minimal form that always encodes: position, reason, and the sealed payload while
        it fits (else the raw record stays only at its source position, which the letter names)."""
        assert self._dead_letter_schema is not None
        schema_id, parsed = self._dead_letter_schema
        try:
            body = wire.encode(schema_id, parsed, letter)
            if len(body) + overhead <= self._max_record_bytes:
                return body
            problem = "larger than the record size limit"
        except Exception as exc:
            problem = f"not encodable ({type(exc).__name__})"
        minimal = {**letter, "key_schema_id": None, "value_schema_id": None, "field": None}
        minimal["reason_detail"] = f"{minimal_text(letter.get('reason_detail'))}; dead letter {problem}"
        body = wire.encode(schema_id, parsed, minimal)
        if len(body) + overhead > self._max_record_bytes:
            minimal.update(encrypted_key=None, encrypted_value=None, encrypted_headers=None)
            minimal["reason_detail"] += "; sealed payload omitted, the raw record stays at its source position"
            body = wire.encode(schema_id, parsed, minimal)
        log.error(
            "dead_letter_minimal",
            topic=letter["source_topic"],
            partition=letter["source_partition"],
            offset=letter["source_offset"],
            problem=problem,
        )
        return body

    async def reject(self, records: Sequence[RawRecord], error: AnonymizationError) -> BatchStats:
        """Dead-letter ``records`` with ``error`` without decoding them (records that crashed a process)."""
        if self._audit_schema_id is None:
            await self.start()
        stats = BatchStats()
        for record in records:
            self._dead_letter(record, error, (None, None), stats)
        await self._sink.drain()
        self._raise_if_refused()
        return stats

    def _raise_if_refused(self) -> None:
        refused = [d.error for d in self._must_deliver if d.error is not None]
        self._must_deliver.clear()
        if refused:
            raise DeliveryError(f"{len(refused)} audit/dead-letter records not written: {sorted(set(refused))}")

    @staticmethod
    def _position(record: RawRecord) -> SourcePosition:
        return SourcePosition(record.topic, record.partition, record.offset, record.timestamp_ms)

    def _published_audit(self, item: _Prepared, outcome: EventOut) -> tuple[dict[str, Any], Any]:
        """The PUBLISHED audit of ``item`` and its encoder cache key (records with the same actions share a tail)."""
        audit = anonymization_audit(
            self._position(item.record),
            self._ref,
            outcome=self._published_outcome,
            operation=outcome.operation,
            output_topic=item.source.output_topic,
            schema_ids_in=(item.key_id, item.value_id),
            schema_ids_out=(
                item.key_plan.schema_id_out if item.key_plan else None,
                item.value_plan.schema_id_out if item.value_plan and outcome.value is not None else None,
            ),
            actions=outcome.actions,
            uncovered=outcome.uncovered,
            epsilon_spent=dict(outcome.epsilon),
        )
        return audit, (outcome.actions, outcome.uncovered, outcome.epsilon)

    def _send_audit(self, record: RawRecord, audit: dict[str, Any], stats: BatchStats, tail_key: Any = ()) -> None:
        self._emit_audit(record, self._encode_audit(record, (audit, tail_key)), stats)

    def _emit_audit(self, record: RawRecord, body: bytes, stats: BatchStats) -> None:
        stats.note_audited(record.topic)
        audit_key = f"{record.topic}/{record.partition}".encode()
        self._must_deliver.append(self._sink.send(self._audit_topic, audit_key, body, source_headers(record)))

    def _encode_audit(self, record: RawRecord, audit_and_key: tuple[dict[str, Any], Any]) -> bytes:
        """The audit's framed Avro bytes; an audit that does not encode becomes the minimal one (never none)."""
        assert self._audit_schema_id is not None
        audit, tail_key = audit_and_key
        try:
            encoded = self._audit_encoder.encode(audit, tail_key)
        except Exception as exc:
            # Never an audit-less record: the minimal audit (position, outcome, reason) always encodes.
            log.error(
                "audit_encode_failed",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                error=type(exc).__name__,
            )
            encoded = self._audit_encoder.encode(minimal_audit(audit), ("minimal",))
        return wire.HEADER.pack(wire.MAGIC, self._audit_schema_id) + encoded

    def _dead_letter(
        self,
        record: RawRecord,
        error: AnonymizationError,
        schema_ids: tuple[int | None, int | None],
        stats: BatchStats,
        source: SourcePolicy | None = None,
        operation: str | None = None,
    ) -> None:
        assert self._dead_letter_schema is not None
        position = self._position(record)
        log.warning(
            "dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=str(error.code),
            detail=error.detail,
            field=error.field,
        )
        letter = self._sealer.record(
            position,
            error,
            raw_key=record.key,
            raw_value=record.value,
            raw_headers=record.headers,
            schema_ids=schema_ids,
            policy=self._ref,
        )
        dlq_key = f"{record.topic}/{record.partition}".encode()
        dlq_headers = [("crm-anonymizer-reason", str(error.code).encode()), *source_headers(record)]
        body = self._encode_letter(letter, record_size(dlq_key, None, dlq_headers))
        delivery = self._sink.send(self._dead_letter_topic, dlq_key, body, dlq_headers)
        self._must_deliver.append(delivery)
        stats.note_dead_lettered(record.topic, str(error.code))
        audit = anonymization_audit(
            position,
            self._ref,
            outcome="DEAD_LETTERED",
            operation=operation,
            output_topic=source.output_topic if source else None,
            schema_ids_in=schema_ids,
            reason_code=str(error.code),
        )
        self._send_audit(record, audit, stats)


def _note_privacy(stats: BatchStats, name: str, outcome: EventOut) -> None:
    """Record-level privacy figures of one published event: DP budgets spent, k-anonymity decisions."""
    reasons = [reason for _, reason in outcome.suppressed]
    budget = sum(1 for reason in reasons if reason not in (SUPPRESSED_K, GENERALIZED_K))
    if budget:
        stats.budget_exhausted[name] = stats.budget_exhausted.get(name, 0) + budget
    if SUPPRESSED_K in reasons:
        stats.k_suppressed[name] = stats.k_suppressed.get(name, 0) + 1
    elif GENERALIZED_K in reasons:
        stats.k_generalized[name] = stats.k_generalized.get(name, 0) + 1
    if outcome.k_class is not None:
        sizes = stats.k_class_sizes.setdefault(name, {})
        sizes[outcome.k_class] = sizes.get(outcome.k_class, 0) + 1


def source_headers(record: RawRecord) -> Headers:
    """The input's position on every output, audit and dead letter: a consumer drops redeliveries by it (the
    worker is at-least-once; after a crash a batch is processed again)."""
    return [
        ("crm-anonymizer-source-topic", record.topic.encode()),
        ("crm-anonymizer-source-partition", str(record.partition).encode()),
        ("crm-anonymizer-source-offset", str(record.offset).encode()),
    ]


RECORD_OVERHEAD_BYTES = 1024  # record and batch framing on top of key, value and headers, rounded up


def record_size(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """What the broker and librdkafka count against their message size limits, with framing rounded up."""
    return len(key or b"") + len(value or b"") + sum(len(k) + len(v) for k, v in headers) + RECORD_OVERHEAD_BYTES


def minimal_text(text: Any) -> str:
    return text[:500] if isinstance(text, str) else ""


def minimal_audit(audit: dict[str, Any]) -> dict[str, Any]:
    """An audit that always encodes: position, outcome and reason of ``audit``, everything else empty."""
    return {
        **audit,
        "key_schema_id_in": None,
        "value_schema_id_in": None,
        "key_schema_id_out": None,
        "value_schema_id_out": None,
        "operation": None,
        "field_actions": [],
        "uncovered_fields": [],
        "epsilon_spent": {},
        "actor": None,
    }


def _unexpected(stage: str, exc: Exception) -> AnonymizationError:
    return AnonymizationError(ReasonCode.INTERNAL_ERROR, f"{stage} raised {type(exc).__name__}")
