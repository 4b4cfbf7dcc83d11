"""Client configuration from :class:`~streams.settings.ConnectionSettings`: the one place where librdkafka,
aiokafka/Faust and schema-registry client settings are built, so that every client connects the same way."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from streams.logging import RATE_LIMIT
from streams.settings import ConnectionSettings

LIBRDKAFKA_LOGGER = logging.getLogger("confluent_kafka.librdkafka")
LIBRDKAFKA_LOGGER.addFilter(RATE_LIMIT)  # in every process that builds a client (the offload child too)

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.schema_registry import SchemaRegistryClient


def librdkafka_config(conn: ConnectionSettings, **overrides: Any) -> dict[str, Any]:
    """Settings for a confluent-kafka Producer, Consumer or AdminClient; ``overrides`` use librdkafka names.

    librdkafka's own log lines go through Python logging (``confluent_kafka.librdkafka``), where connection
    errors during an outage are rate-limited (``streams.logging.RateLimit``) instead of printed per retry."""
    return {"bootstrap.servers": conn.kafka_bootstrap, "logger": LIBRDKAFKA_LOGGER, **overrides}


def reliable_producer_config(
    conn: ConnectionSettings, *, linger_ms: int, max_record_bytes: int = 1_000_000, **overrides: Any
) -> dict[str, Any]:
    """A producer that loses nothing and keeps per-partition order across retries: acks=all, idempotence;
    lz4-compressed batches; ``max_record_bytes`` is librdkafka's message.max.bytes."""
    return librdkafka_config(
        conn,
        **{
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": linger_ms,
            "compression.type": "lz4",
            "message.max.bytes": max_record_bytes,
            **overrides,
        },
    )


def faust_broker_config(conn: ConnectionSettings) -> dict[str, Any]:
    """Keyword arguments for ``faust.App`` that say where and how its aiokafka clients connect."""
    return {"broker": f"kafka://{conn.kafka_bootstrap}"}


def faust_group_config(session_timeout_s: float, group_instance_id: str = "") -> dict[str, Any]:
    """Consumer group settings for ``faust.App``: a killed worker's partitions move after ``session_timeout_s``
    (Faust's default, 60 s, kept a replacement idle for a minute); heartbeats at a third of it. With a
    ``group_instance_id`` (static membership) a replacement with the same id takes the partitions back at
    once."""
    return {
        "broker_session_timeout": session_timeout_s,
        "broker_heartbeat_interval": max(1.0, session_timeout_s / 3),
        "consumer_group_instance_id": group_instance_id or None,
    }


def registry_config(conn: ConnectionSettings) -> dict[str, Any]:
    """Settings for confluent-kafka's ``SchemaRegistryClient``."""
    # One attempt per call with a timeout: SchemaCache retries per batch, with backoff, logged once.
    return {"url": conn.registry_url, "timeout": conn.registry_timeout_s, "max.retries": 0}


def registry_client(conn: ConnectionSettings) -> SchemaRegistryClient:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient(registry_config(conn))


def admin_client(conn: ConnectionSettings, **overrides: Any) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient(librdkafka_config(conn, **overrides))
