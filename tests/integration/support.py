"""Helpers for integration tests: an independent producer/consumer (confluent-kafka + AvroSerializer),
and a worker subprocess deployed on unique topics."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.devtools.services._process import free_port
from streams.kafka.config import admin_client, librdkafka_config, registry_client
from streams.kafka.reader import Record, read_topic
from streams.settings import ENV_PREFIX, REPO_ROOT, ConnectionSettings, Settings

SCHEMAS = REPO_ROOT / "schemas" / "debezium"
T = TypeVar("T")


def schema_text(name: str) -> str:
    return json.dumps(json.loads((SCHEMAS / name).read_text()))


@dataclass
class Deployment:
    """A worker subprocess with its own policy, topics, consumer group and keys."""

    settings: Settings
    source_topic: str
    output_topic: str
    audit_topic: str
    dead_letter_topic: str
    tokenization_key: str
    dead_letter_key: str
    log_path: Path
    metrics_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    registry: SchemaRegistryClient = field(init=False)

    def __post_init__(self) -> None:
        self.registry = registry_client(self.settings.connection)

    # -- producing ------------------------------------------------------------------------------------
    def producer(self) -> Producer:
        return Producer(
            librdkafka_config(self.settings.connection, **{"acks": "all", "enable.idempotence": True, "linger.ms": 5})
        )

    def produce_avro(
        self,
        events: list[tuple[dict[str, Any] | None, dict[str, Any] | None]],
        key_schema: str = "crm.public.contacts-key.avsc",
        value_schema: str = "crm.public.contacts-value.avsc",
        timestamp_ms: int | None = None,
    ) -> list[tuple[int, int]]:
        """Produce (key, value) dicts with AvroSerializer; returns (partition, offset) per event, in order."""
        key_ser = AvroSerializer(self.registry, schema_text(key_schema))
        value_ser = AvroSerializer(self.registry, schema_text(value_schema))
        payloads = []
        for key, value in events:
            k = key_ser(key, SerializationContext(self.source_topic, MessageField.KEY)) if key is not None else None
            v = (
                value_ser(value, SerializationContext(self.source_topic, MessageField.VALUE))
                if value is not None
                else None
            )
            payloads.append((k, v))
        return self.produce_raw(payloads, timestamp_ms)

    def produce_raw(
        self, payloads: list[tuple[bytes | None, bytes | None]], timestamp_ms: int | None = None
    ) -> list[tuple[int, int]]:
        producer = self.producer()
        positions: list[tuple[int, int] | None] = [None] * len(payloads)

        def remember(index: int) -> Callable[[Any, Any], None]:
            def on_delivery(err: Any, msg: Any) -> None:
                assert err is None, f"delivery failed: {err}"
                positions[index] = (msg.partition(), msg.offset())

            return on_delivery

        for i, (key, value) in enumerate(payloads):
            producer.produce(
                self.source_topic, key=key, value=value, on_delivery=remember(i), timestamp=timestamp_ms or 0
            )
        assert producer.flush(30) == 0
        assert all(p is not None for p in positions)
        return [p for p in positions if p is not None]

    # -- consuming ------------------------------------------------------------------------------------
    def deserialize(self, record: Record) -> Any:
        if record.value is None:
            return None
        return AvroDeserializer(self.registry)(record.value, SerializationContext(record.topic, MessageField.VALUE))

    def deserialize_key(self, record: Record) -> Any:
        if record.key is None:
            return None
        return AvroDeserializer(self.registry)(record.key, SerializationContext(record.topic, MessageField.KEY))

    def audits_for(self, positions: list[tuple[int, int]], timeout_s: float = 60.0) -> list[dict[str, Any]]:
        """Wait until every (partition, offset) of the source topic has an audit event; return them all."""
        wanted = set(positions)
        deadline = time.monotonic() + timeout_s
        while True:
            self.assert_alive()
            audits = [self.deserialize(r) for r in read_topic(self.settings.connection, self.audit_topic)]
            mine = [
                a
                for a in audits
                if a["source_topic"] == self.source_topic and (a["source_partition"], a["source_offset"]) in wanted
            ]
            if {(a["source_partition"], a["source_offset"]) for a in mine} == wanted:
                return mine
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(mine)} of {len(wanted)} audit events after {timeout_s}s")
            time.sleep(0.5)

    def read(self, topic: str) -> list[Record]:
        return read_topic(self.settings.connection, topic)

    def assert_alive(self) -> None:
        assert self.process is not None and self.process.poll() is None, (
            f"worker died (code {self.process.returncode if self.process else None}); log: {self.log_path}"
        )

    def log_text(self) -> bytes:
        return self.log_path.read_bytes()


def write_policy(path: Path, source_topic: str, output_topic: str) -> None:
    base = yaml.safe_load((REPO_ROOT / "tests" / "policies" / "crm-fail-closed.yaml").read_text())
    contacts = next(s for s in base["sources"] if s["name"] == "contacts")
    contacts.update(topic=source_topic, output_topic=output_topic)
    base["sources"] = [contacts]
    path.write_text(yaml.safe_dump(base, sort_keys=False))


@contextmanager
def deployed_worker(
    settings: Settings,
    tmp: Path,
    policy_writer: Callable[[Path, str, str], None] = write_policy,
    uid: str | None = None,
    keys: tuple[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Deployment]:
    """A worker subprocess on topics named by ``uid`` (fresh unless given: pass one to redeploy on the same
    topics), with fresh keys unless ``keys`` = (tokenization, dead-letter) hex keys are given."""
    uid = uid or uuid.uuid4().hex[:8]
    deployment = Deployment(
        settings=settings,
        source_topic=f"it.{uid}.crm.public.contacts",
        output_topic=f"anon.it.{uid}.crm.public.contacts",
        audit_topic=f"it.{uid}.audit",
        dead_letter_topic=f"it.{uid}.deadletter",
        tokenization_key=keys[0] if keys else secrets.token_hex(32),
        dead_letter_key=keys[1] if keys else secrets.token_hex(32),
        log_path=tmp / f"worker-{uid}.log",
        metrics_port=free_port(),
    )
    policy = tmp / f"policy-{uid}.yaml"
    policy_writer(policy, deployment.source_topic, deployment.output_topic)
    env = {
        **os.environ,
        "CRM_ANON_POLICY_FILE": str(policy),
        "CRM_ANON_APP_ID": f"it-{uid}",
        "CRM_ANON_STATE_DIR": str(tmp / f"state-{uid}"),
        "CRM_ANON_AUDIT_TOPIC": deployment.audit_topic,
        "CRM_ANON_DEAD_LETTER_TOPIC": deployment.dead_letter_topic,
        "CRM_ANON_TOKENIZATION_KEY": deployment.tokenization_key,
        "CRM_ANON_DEAD_LETTER_KEY": deployment.dead_letter_key,
        "CRM_ANON_LOG_FORMAT": "json",
        "CRM_ANON_LOG_LEVEL": "debug",
        "CRM_ANON_METRICS_PORT": str(deployment.metrics_port),
        **(extra_env or {}),
    }
    with deployment.log_path.open("wb") as log:
        deployment.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp
        )
        try:
            yield deployment
        finally:
            if deployment.process.poll() is None:
                deployment.process.send_signal(signal.SIGTERM)
                try:
                    deployment.process.wait(30)
                except subprocess.TimeoutExpired:
                    deployment.process.kill()
                    deployment.process.wait(10)


def create_topics(settings: Settings, topics: dict[str, tuple[int, dict[str, str]]]) -> None:
    """Create topics (partitions, config) and wait until every partition has a leader."""
    admin = admin_client(settings.connection)
    new = [NewTopic(name, num_partitions=n, replication_factor=1, config=cfg) for name, (n, cfg) in topics.items()]
    for future in admin.create_topics(new, operation_timeout=30).values():
        future.result()
    deadline = time.monotonic() + 30
    while True:
        metadata = admin.list_topics(timeout=10).topics
        if all(
            name in metadata
            and metadata[name].error is None
            and len(metadata[name].partitions) == n
            and all(p.leader >= 0 for p in metadata[name].partitions.values())
            for name, (n, _) in topics.items()
        ):
            return
        assert time.monotonic() < deadline, f"topics without leaders: {sorted(topics)}"
        time.sleep(0.2)


def retrying(action: Callable[[], T], timeout_s: float = 30.0) -> T:
    """Run ``action``, retrying transient broker errors (a topic just created can answer
    NOT_LEADER_FOR_PARTITION for a moment)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return action()
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def connection_env(conn: ConnectionSettings) -> dict[str, str]:
    """The environment that makes a subprocess connect as ``conn`` does (every connection field)."""
    env: dict[str, str] = {}
    for name in ConnectionSettings.model_fields:
        value = getattr(conn, name)
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        text = str(value).lower() if isinstance(value, bool) else str(value)
        env[f"{ENV_PREFIX}{name.upper()}"] = "" if value is None else text
    return env
