"""Re-identification: an operator holding an encryption key recovers one ``encrypt``-ed field of one record.

Every attempt that reaches decryption writes a REIDENTIFICATION audit event (kind ``REIDENTIFICATION``,
``actor`` = the operator, the position of the anonymized record, ``field_actions`` =
``[{path, action: "reidentify"}]``, never a value) to the audit topic, in the Confluent wire format with the
audit schema registered under ``<audit topic>-value`` (as the worker does):

- success: ``outcome`` PUBLISHED, ``reason_code`` null. The plaintext is handed out only after the broker has
  acknowledged the audit event: no audit, no plaintext.
- failure (wrong key, wrong field, modified token): ``outcome`` PUBLISHED (the schema's outcome enum knows
  only PUBLISHED / DEAD_LETTERED; the attempt itself was recorded) and ``reason_code`` ``reidentify.failed``.

Attempts that fail before decryption (record not found, field null or not an encrypt token, bad key file)
reveal nothing and are not audited. Plaintexts never go to logs or exception messages; the CLI prints them to
stdout only.

Key files hold one ``key id=hex key`` per line (base64 is accepted too); blank lines and ``#`` comments are
ignored. They are only read from a path given explicitly, never from the environment.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr

from streams import __version__
from streams.audit import AUDIT_SCHEMA, SourcePosition
from streams.errors import CrmAnonymizerError
from streams.kafka.config import librdkafka_config
from streams.keys import parse_key
from streams.settings import ConnectionSettings
from streams.transforms.encrypt import DecryptionError, decrypt

ACTION = "reidentify"
FAILED_REASON = "reidentify.failed"
ROW_IMAGES = ("after", "before")


class ReidentifyError(CrmAnonymizerError, RuntimeError):
    """Re-identification cannot proceed. Messages name topics, offsets, paths and key ids, never values."""


def decrypt_token(token: str, key_material: Mapping[str, bytes], field_path: str) -> str | bytes | int:
    """The original value of an ``encrypt`` token found at ``field_path`` of a record.

    ``field_path`` is the path in the anonymized record: ``after.email`` / ``before.email`` (a row image),
    ``email`` (the row column), or ``key.id`` (a record key field); all name the column the token is bound to.
    Raises ``DecryptionError`` (a ``ValueError``) when the key is missing or wrong, the token was made for
    another column, or it was modified.
    """
    return decrypt(token, key_material, row_path(field_path))


def row_path(field_path: str) -> str:
    """``after.email`` / ``before.email`` -> ``email``; key and plain row paths unchanged."""
    for image in ROW_IMAGES:
        if field_path.startswith(f"{image}."):
            return field_path[len(image) + 1 :]
    return field_path


def parse_key_file(text: str) -> dict[str, bytes]:
    """``{key id: key}`` from ``keyid=hex`` lines; errors give line numbers, never key material."""
    keys: dict[str, bytes] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key_id, sep, material = line.partition("=")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise ReidentifyError(f"key file line {number}: expected 'key id=hex key'")
        try:
            keys[key_id] = parse_key(SecretStr(material), f"key file line {number} (key id {key_id!r})")
        except ValueError as exc:
            raise ReidentifyError(str(exc)) from None
    if not keys:
        raise ReidentifyError("key file holds no keys")
    return keys


def load_key_file(path: Path) -> dict[str, bytes]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReidentifyError(f"cannot read key file {str(path)!r}: {type(exc).__name__}") from None
    return parse_key_file(text)


def reidentification_audit(
    position: SourcePosition,
    actor: str,
    field_path: str,
    *,
    failed: bool,
    schema_ids: tuple[int | None, int | None] = (None, None),
) -> dict[str, Any]:
    """An audit record (``audit_event.avsc``) for one re-identification attempt; no values."""
    return {
        "event_id": str(uuid.uuid4()),
        "kind": "REIDENTIFICATION",
        "processed_at": int(time.time() * 1000),
        "processor_version": __version__,
        "source_topic": position.topic,
        "source_partition": position.partition,
        "source_offset": position.offset,
        "key_schema_id_in": schema_ids[0],
        "value_schema_id_in": schema_ids[1],
        "key_schema_id_out": None,
        "value_schema_id_out": None,
        "output_topic": None,
        "policy_id": None,
        "policy_version": None,
        "policy_hash": None,
        "operation": None,
        "outcome": "PUBLISHED",
        "reason_code": FAILED_REASON if failed else None,
        "field_actions": [{"path": field_path, "action": ACTION}],
        "uncovered_fields": [],
        "epsilon_spent": {},
        "actor": actor,
    }


# --- Kafka and registry -------------------------------------------------------------------------------------


class AuditProducer(Protocol):
    def produce(self, topic: str, value: bytes | None = ..., key: bytes | None = ..., *, on_delivery: Any) -> None: ...

    def flush(self, timeout: float) -> int: ...


class SchemaRegistrar(Protocol):
    def register_schema(self, subject_name: str, schema: Any) -> int: ...


def audit_schema_text() -> str:
    # The same canonical text the worker registers (SchemaCache.register), so both get the same schema id.
    return json.dumps(AUDIT_SCHEMA, sort_keys=True, separators=(",", ":"))


def write_audit(
    producer: AuditProducer,
    registry: SchemaRegistrar,
    audit_topic: str,
    record: dict[str, Any],
    *,
    timeout_s: float = 30.0,
) -> None:
    """Register the audit schema, produce one audit record and wait for the broker's acknowledgement."""
    from confluent_kafka.schema_registry import Schema
    from fastavro import parse_schema

    from streams.avro import wire

    schema_id = registry.register_schema(f"{audit_topic}-value", Schema(audit_schema_text(), "AVRO"))
    body = wire.encode(schema_id, parse_schema(AUDIT_SCHEMA), record)
    failures: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err.name()))

    key = f"{record['source_topic']}/{record['source_partition']}".encode()
    producer.produce(audit_topic, value=body, key=key, on_delivery=on_delivery)
    if producer.flush(timeout_s):
        raise ReidentifyError(f"audit event not acknowledged by the broker within {timeout_s}s")
    if failures:
        raise ReidentifyError(f"audit event was not written: {failures[0]}")


@dataclass(frozen=True, slots=True)
class FetchedRecord:
    position: SourcePosition
    key: Any
    value: Any
    schema_ids: tuple[int | None, int | None]


def _schema_id(data: bytes | None) -> int | None:
    from streams.avro import wire
    from streams.errors import AnonymizationError

    if data is None:
        return None
    try:
        return wire.split_frame(data)[0]
    except AnonymizationError as exc:
        raise ReidentifyError(f"record is not in the Confluent wire format ({exc.code})") from None


def fetch_record(
    conn: ConnectionSettings, registry_client: Any, topic: str, partition: int, offset: int, timeout_s: float = 30.0
) -> FetchedRecord:
    """Read the record at one offset (assign + seek, no consumer group commits) and decode it via the registry."""
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    consumer = Consumer(
        librdkafka_config(
            conn,
            **{
                "group.id": f"crm-anonymizer-reidentify-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "auto.offset.reset": "error",  # an offset out of range is an error, never another record
                "isolation.level": "read_committed",
            },
        )
    )
    try:
        metadata = consumer.list_topics(topic, timeout=15)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise ReidentifyError(f"topic {topic!r} does not exist")
        if partition not in metadata.topics[topic].partitions:
            raise ReidentifyError(f"topic {topic!r} has no partition {partition}")
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
        if not low <= offset < high:
            raise ReidentifyError(f"offset {offset} is outside {topic}[{partition}] (offsets {low}..{high - 1})")
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout_s
        message = None
        while message is None:
            if time.monotonic() > deadline:
                raise ReidentifyError(f"no record read at {topic}[{partition}]@{offset} within {timeout_s}s")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise ReidentifyError(f"reading {topic}[{partition}]: {msg.error()}")
            if msg.offset() != offset:
                raise ReidentifyError(f"{topic}[{partition}] has no record at offset {offset} (compacted?)")
            message = msg
    finally:
        consumer.close()

    raw_key, raw_value = message.key(), message.value()
    key_bytes = raw_key.encode() if isinstance(raw_key, str) else raw_key
    value_bytes = raw_value.encode() if isinstance(raw_value, str) else raw_value
    deserializer = AvroDeserializer(registry_client)

    def decode(data: bytes | None, part: Any) -> Any:
        if data is None:
            return None
        try:
            return deserializer(data, SerializationContext(topic, part))
        except Exception as exc:  # messages of decoders can quote data
            raise ReidentifyError(f"cannot decode the record {part.name.lower()} ({type(exc).__name__})") from None

    schema_ids = (_schema_id(key_bytes), _schema_id(value_bytes))
    return FetchedRecord(
        position=SourcePosition(topic, partition, offset),
        key=decode(key_bytes, MessageField.KEY),
        value=decode(value_bytes, MessageField.VALUE),
        schema_ids=schema_ids,
    )


def _walk(data: Any, parts: list[str], shown: str) -> Any:
    for part in parts:
        if data is None:
            return None
        if not isinstance(data, Mapping) or part not in data:
            raise ReidentifyError(f"field {shown!r} is not in the record")
        data = data[part]
    return data


def field_token(record: FetchedRecord, field_path: str) -> str:
    """The encrypt token at ``field_path``: ``key.<f>``, ``after.<f>``, ``before.<f>`` or ``<f>`` (after, or
    before when the event has no after image). Nested record fields use dots; arrays and maps are not walked."""
    if any(marker in field_path for marker in ("[]", "{}")) or not field_path or ".." in field_path:
        raise ReidentifyError(f"field path {field_path!r} is not supported (use dots through nested records)")
    parts = field_path.split(".")
    if parts[0] == "key" and len(parts) > 1:
        value = _walk(record.key, parts[1:], field_path)
    elif parts[0] in ROW_IMAGES and len(parts) > 1:
        value = _walk(record.value, parts, field_path)
    else:
        envelope = record.value if isinstance(record.value, Mapping) else {}
        image = "after" if envelope.get("after") is not None else "before"
        value = _walk(record.value, [image, *parts], field_path)
    if value is None:
        raise ReidentifyError(f"field {field_path!r} is null in this record")
    if not isinstance(value, str):
        raise ReidentifyError(f"field {field_path!r} holds a {type(value).__name__}, not an encrypt token")
    return value


def format_plaintext(value: str | bytes | int) -> str:
    """How the CLI prints a recovered value: strings as they are, integers in decimal, bytes in hex."""
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def reidentify(
    record: FetchedRecord,
    field_path: str,
    keys: Mapping[str, bytes],
    actor: str,
    *,
    producer: AuditProducer,
    registry: SchemaRegistrar,
    audit_topic: str,
) -> str | bytes | int:
    """Decrypt one field of a fetched record, audit the attempt, and return the value only once audited."""
    if not actor.strip():
        raise ReidentifyError("an actor (who re-identifies) is required")
    token = field_token(record, field_path)
    try:
        plaintext = decrypt_token(token, keys, field_path)
    except DecryptionError as exc:
        audit = reidentification_audit(record.position, actor, field_path, failed=True, schema_ids=record.schema_ids)
        write_audit(producer, registry, audit_topic, audit)
        raise ReidentifyError(f"{exc} (the attempt was audited)") from None
    audit = reidentification_audit(record.position, actor, field_path, failed=False, schema_ids=record.schema_ids)
    write_audit(producer, registry, audit_topic, audit)
    return plaintext
