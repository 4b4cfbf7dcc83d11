"""Client configuration from :class:`~streams.settings.ConnectionSettings`: the one place where librdkafka,
aiokafka/Faust and schema-registry client settings are built, so that every client connects the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.settings import ConnectionSettings

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.schema_registry import SchemaRegistryClient


def librdkafka_config(conn: ConnectionSettings, **overrides: Any) -> dict[str, Any]:
    """Settings for a confluent-kafka Producer, Consumer or AdminClient; ``overrides`` use librdkafka names."""
    return {"bootstrap.servers": conn.kafka_bootstrap, **overrides}


def reliable_producer_config(conn: ConnectionSettings, *, linger_ms: int, **overrides: Any) -> dict[str, Any]:
    """A producer that loses nothing and keeps per-partition order across retries: acks=all, idempotence;
    lz4-compressed batches."""
    return librdkafka_config(
        conn,
        **{"acks": "all", "enable.idempotence": True, "linger.ms": linger_ms, "compression.type": "lz4", **overrides},
    )


def faust_broker_config(conn: ConnectionSettings) -> dict[str, Any]:
    """Keyword arguments for ``faust.App`` that say where and how its aiokafka clients connect."""
    return {"broker": f"kafka://{conn.kafka_bootstrap}"}


def registry_config(conn: ConnectionSettings) -> dict[str, Any]:
    """Settings for confluent-kafka's ``SchemaRegistryClient``."""
    return {"url": conn.registry_url}


def registry_client(conn: ConnectionSettings) -> SchemaRegistryClient:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient(registry_config(conn))


def admin_client(conn: ConnectionSettings, **overrides: Any) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient(librdkafka_config(conn, **overrides))
