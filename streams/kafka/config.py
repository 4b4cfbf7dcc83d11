"""Client configuration from :class:`~streams.settings.ConnectionSettings`: the one place where librdkafka,
aiokafka/Faust and schema-registry client settings are built, so that every client connects the same way.

Security (TLS, SASL PLAIN/SCRAM, mutual TLS, registry basic auth) is mapped here for all three client
libraries. The dictionaries returned hold secrets: never log them (``redacted`` gives a loggable copy).
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Any

from streams.logging import RATE_LIMIT
from streams.settings import ConnectionSettings

LIBRDKAFKA_LOGGER = logging.getLogger("confluent_kafka.librdkafka")
LIBRDKAFKA_LOGGER.addFilter(RATE_LIMIT)  # in every process that builds a client (the offload child too)

if TYPE_CHECKING:
    import httpx
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.schema_registry import SchemaRegistryClient


SECRET_KEYS = frozenset({"sasl.password", "ssl.key.password", "basic.auth.user.info", "sasl_plain_password"})


def redacted(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of a client configuration that is safe to log."""
    return {k: ("***" if k in SECRET_KEYS else v) for k, v in config.items()}


def librdkafka_security(conn: ConnectionSettings) -> dict[str, Any]:
    """librdkafka's security settings (empty for PLAINTEXT)."""
    config: dict[str, Any] = {}
    if conn.kafka_security_protocol != "PLAINTEXT":
        config["security.protocol"] = conn.kafka_security_protocol
    if conn.uses_sasl:
        config["sasl.mechanism"] = conn.kafka_sasl_mechanism
        config["sasl.username"] = conn.kafka_sasl_username
        config["sasl.password"] = conn.kafka_sasl_password.get_secret_value()
    if conn.uses_tls:
        config["ssl.endpoint.identification.algorithm"] = "https" if conn.kafka_ssl_check_hostname else "none"
        if conn.kafka_ssl_ca_file is not None:
            config["ssl.ca.location"] = str(conn.kafka_ssl_ca_file)
        if conn.kafka_ssl_cert_file is not None and conn.kafka_ssl_key_file is not None:
            config["ssl.certificate.location"] = str(conn.kafka_ssl_cert_file)
            config["ssl.key.location"] = str(conn.kafka_ssl_key_file)
            if conn.kafka_ssl_key_password.get_secret_value():
                config["ssl.key.password"] = conn.kafka_ssl_key_password.get_secret_value()
    return config


def librdkafka_config(conn: ConnectionSettings, **overrides: Any) -> dict[str, Any]:
    """Settings for a confluent-kafka Producer, Consumer or AdminClient; ``overrides`` use librdkafka names.

    librdkafka's own log lines go through Python logging (``confluent_kafka.librdkafka``), where connection
    errors during an outage are rate-limited (``streams.logging.RateLimit``) instead of printed per retry."""
    return {
        "bootstrap.servers": conn.kafka_bootstrap,
        "logger": LIBRDKAFKA_LOGGER,
        **librdkafka_security(conn),
        **overrides,
    }


def kafka_ssl_context(conn: ConnectionSettings) -> ssl.SSLContext:
    """The TLS context of the aiokafka clients: the CA file (or the system store), the client certificate for
    mutual TLS, hostname verification as configured; the certificate itself is always verified."""
    context = ssl.create_default_context(
        purpose=ssl.Purpose.SERVER_AUTH,
        cafile=str(conn.kafka_ssl_ca_file) if conn.kafka_ssl_ca_file is not None else None,
    )
    context.check_hostname = conn.kafka_ssl_check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if conn.kafka_ssl_cert_file is not None and conn.kafka_ssl_key_file is not None:
        context.load_cert_chain(
            str(conn.kafka_ssl_cert_file),
            str(conn.kafka_ssl_key_file),
            password=conn.kafka_ssl_key_password.get_secret_value() or None,
        )
    return context


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
    import faust

    config: dict[str, Any] = {"broker": f"kafka://{conn.kafka_bootstrap}"}
    context = kafka_ssl_context(conn) if conn.uses_tls else None
    if conn.uses_sasl:
        credentials = faust.SASLCredentials(
            username=conn.kafka_sasl_username,
            password=conn.kafka_sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=conn.kafka_sasl_mechanism,
        )
        config["broker_credentials"] = credentials
    elif context is not None:
        config["broker_credentials"] = faust.SSLCredentials(context)
    return config


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
    """Settings for confluent-kafka's ``SchemaRegistryClient``: basic auth, CA file, client certificate."""
    # One attempt per call with a timeout: SchemaCache retries per batch, with backoff, logged once.
    config: dict[str, Any] = {"url": conn.registry_url, "timeout": conn.registry_timeout_s, "max.retries": 0}
    if conn.registry_username:
        config["basic.auth.user.info"] = f"{conn.registry_username}:{conn.registry_password.get_secret_value()}"
    if conn.registry_ssl_ca_file is not None:
        config["ssl.ca.location"] = str(conn.registry_ssl_ca_file)
    if conn.registry_ssl_cert_file is not None and conn.registry_ssl_key_file is not None:
        config["ssl.certificate.location"] = str(conn.registry_ssl_cert_file)
        config["ssl.key.location"] = str(conn.registry_ssl_key_file)
    return config


def registry_http_options(conn: ConnectionSettings) -> dict[str, Any]:
    """Keyword arguments for a plain ``httpx`` call to the registry (probes): the same auth and TLS."""
    options: dict[str, Any] = {}
    if conn.registry_username:
        options["auth"] = (conn.registry_username, conn.registry_password.get_secret_value())
    if conn.registry_url.startswith("https") and (
        conn.registry_ssl_ca_file is not None or conn.registry_ssl_cert_file is not None
    ):
        context = ssl.create_default_context(
            cafile=str(conn.registry_ssl_ca_file) if conn.registry_ssl_ca_file is not None else None
        )
        if conn.registry_ssl_cert_file is not None and conn.registry_ssl_key_file is not None:
            context.load_cert_chain(str(conn.registry_ssl_cert_file), str(conn.registry_ssl_key_file))
        options["verify"] = context
    return options


def registry_probe_client(conn: ConnectionSettings, timeout_s: float) -> httpx.Client:
    """An ``httpx`` client for registry probes. Keep it for every probe of a loop: ``httpx.get`` builds a
    client, and an SSL context that loads the CA bundle, per call (native memory that grew the worker's RSS
    by ~4.5 MB/min when the lag monitor probed that way)."""
    import httpx

    return httpx.Client(timeout=timeout_s, trust_env=False, **registry_http_options(conn))


def registry_client(conn: ConnectionSettings) -> SchemaRegistryClient:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient(registry_config(conn))


def admin_client(conn: ConnectionSettings, **overrides: Any) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient(librdkafka_config(conn, **overrides))
