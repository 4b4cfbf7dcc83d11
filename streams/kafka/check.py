"""Fail fast on a misconfigured connection: wrong SASL credentials, an untrusted broker certificate, a
registry that refuses the credentials. librdkafka and aiokafka would otherwise retry such errors forever;
the commands call these checks before they start clients, so the user sees one clear line."""

from __future__ import annotations

import logging
import ssl
import threading
import time

import httpx
from confluent_kafka import KafkaError, KafkaException

from streams.errors import ConnectError
from streams.kafka.config import admin_client, registry_probe_client
from streams.settings import ConnectionSettings

AUTHENTICATION = "authentication failed (SASL mechanism, user or password)"
UNTRUSTED = (
    "TLS handshake failed: broker certificate not trusted (is it signed by CRM_ANON_KAFKA_SSL_CA_FILE, and does it "
    "name the host?)"
)
CLIENT_CERT = (
    "the broker refused the TLS handshake: client certificate missing or not trusted "
    "(CRM_ANON_KAFKA_SSL_CERT_FILE, CRM_ANON_KAFKA_SSL_KEY_FILE)"
)


def classify(code: int, text: str) -> str | None:
    """The failure kind of a librdkafka error that retrying cannot fix, or None for a transient one."""
    if code in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
        return AUTHENTICATION
    if code == KafkaError._SSL:
        return UNTRUSTED
    if code == KafkaError._TRANSPORT and "SSL alert" in text and "certificate" in text:
        return CLIENT_CERT  # the broker's alert (bad/required certificate) ends the handshake
    return None


def check_kafka(conn: ConnectionSettings, timeout_s: float = 15.0) -> None:
    """A metadata request with the configured security; raises :class:`ConnectError` with one line on a
    credential or certificate failure, or when nothing answers within ``timeout_s``."""
    fatal: list[str] = []
    seen = threading.Event()

    def on_error(error: KafkaError) -> None:
        kind = classify(error.code(), error.str())
        if kind is not None:
            fatal.append(kind)
            seen.set()

    client = admin_client(conn, error_cb=on_error, logger=_SILENT, **{"socket.timeout.ms": int(timeout_s * 1000)})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not seen.is_set():
        try:
            client.list_topics(timeout=min(1.0, max(0.1, deadline - time.monotonic())))
            return
        except KafkaException:
            client.poll(0)  # deliver error callbacks
    client.poll(0)
    if fatal:
        raise ConnectError(f"Kafka at {conn.kafka_bootstrap} ({conn.kafka_security_protocol}): {fatal[0]}")
    raise ConnectError(
        f"Kafka at {conn.kafka_bootstrap} ({conn.kafka_security_protocol}) did not answer in {timeout_s:g} s",
        transient=True,
    )


def check_registry(
    conn: ConnectionSettings, timeout_s: float | None = None, client: httpx.Client | None = None
) -> None:
    """``GET /subjects`` with the configured auth and TLS; :class:`ConnectError` on 401/403 or a TLS error
    (``transient`` when it does not answer within ``timeout_s``, default the registry timeout setting).
    A caller that checks in a loop passes one ``client`` (:func:`registry_probe_client`) for every call."""
    timeout = timeout_s if timeout_s is not None else conn.registry_timeout_s
    url = f"{conn.registry_url.rstrip('/')}/subjects"
    try:
        if client is None:
            with registry_probe_client(conn, timeout) as own:
                response = own.get(url)
        else:
            response = client.get(url, timeout=timeout)
    except httpx.ConnectError as exc:
        if isinstance(exc.__cause__, ssl.SSLError) or "CERTIFICATE" in str(exc).upper():
            raise ConnectError(
                f"registry at {conn.registry_url}: TLS certificate not trusted (CRM_ANON_REGISTRY_SSL_CA_FILE)"
            ) from None
        raise ConnectError(
            f"registry at {conn.registry_url} does not answer ({type(exc).__name__})", transient=True
        ) from None
    except httpx.HTTPError as exc:
        raise ConnectError(
            f"registry at {conn.registry_url} does not answer ({type(exc).__name__})", transient=True
        ) from None
    if response.status_code in (401, 403):
        raise ConnectError(
            f"registry at {conn.registry_url} refused the credentials (HTTP {response.status_code}; "
            "CRM_ANON_REGISTRY_USERNAME / CRM_ANON_REGISTRY_PASSWORD)"
        )
    if response.status_code >= 500 or response.status_code == 429:
        raise ConnectError(f"registry at {conn.registry_url} answered HTTP {response.status_code}", transient=True)
    if response.status_code >= 400:
        raise ConnectError(f"registry at {conn.registry_url} answered HTTP {response.status_code}")


# librdkafka's own lines (a retry per broker and second) are dropped: the check reports one line of its own.
_SILENT = logging.getLogger(f"{__name__}.rdkafka")
_SILENT.addHandler(logging.NullHandler())
_SILENT.propagate = False
