"""Topic housekeeping with confluent-kafka's AdminClient."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import structlog
from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]  # not re-exported in stubs

from streams.errors import ConfigError, KafkaAdminError
from streams.kafka.config import admin_client
from streams.settings import ConnectionSettings, Settings

log = structlog.get_logger(__name__)


def topic_durability(settings: Settings, *, durable: bool = False) -> tuple[int, dict[str, str]]:
    """Replication factor and topic config for topics the tools create, from the settings.

    On the local single-broker services (``local_services``) both are 1. Elsewhere the settings hold
    (defaults 3 and 2), and ``durable`` topics (outputs, audit, dead letters: what must never be lost) with
    replication factor 1 are refused: a single broker's disk would be their only copy.
    """
    if settings.local_services:
        return 1, {"min.insync.replicas": "1"}
    replication = settings.topic_replication_factor
    if durable and replication < 2:
        raise ConfigError(
            "CRM_ANON_TOPIC_REPLICATION_FACTOR=1 for output, audit and dead-letter topics needs "
            "CRM_ANON_LOCAL_SERVICES=1 (single-broker local services only)"
        )
    min_insync = min(settings.topic_min_insync_replicas, replication)
    return replication, {"min.insync.replicas": str(min_insync)}


def ensure_topics(
    conn: ConnectionSettings,
    names: Iterable[str],
    partitions: int,
    config: dict[str, str] | None = None,
    *,
    replication_factor: int = 1,
) -> None:
    """Create the topics of ``names`` that do not exist yet (existing topics are left as they are). Waits for
    a broker that does not answer (logged once, then every 30 s) instead of failing the start-up."""
    client = admin_client(conn)
    existing = set(_topics_when_answering(client))
    wanted = [
        NewTopic(n, num_partitions=partitions, replication_factor=replication_factor, config=config or {})
        for n in names
        if n not in existing
    ]
    if not wanted:
        return
    for topic, future in client.create_topics(wanted, operation_timeout=30).items():
        try:
            future.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise KafkaAdminError(f"cannot create topic {topic}: {exc}") from None


def _topics_when_answering(client: Any, *, remind_s: float = 30.0) -> list[str]:
    since: float | None = None
    reminded = 0.0
    delay = 0.5
    while True:
        try:
            topics = list(client.list_topics(timeout=10).topics)
        except KafkaException as exc:
            now = time.monotonic()
            if since is None:
                since, reminded = now, now
                log.warning("broker_stalled", what="list_topics", error=exc.args[0].name() if exc.args else "")
            elif now - reminded >= remind_s:
                reminded = now
                log.warning("broker_still_stalled", what="list_topics", stalled_s=round(now - since, 1))
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if since is not None:
            log.info("broker_recovered", stalled_s=round(time.monotonic() - since, 1))
        return topics


def delete_topics(conn: ConnectionSettings, names: Iterable[str], timeout_s: float = 30.0) -> None:
    client = admin_client(conn)
    existing = set(client.list_topics(timeout=15).topics)
    doomed = [n for n in names if n in existing]
    if not doomed:
        return
    for future in client.delete_topics(doomed, operation_timeout=30).values():
        try:
            future.result()
        except KafkaException:
            pass
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not set(doomed) & set(client.list_topics(timeout=15).topics):
            return
        time.sleep(0.2)
    raise KafkaAdminError(f"topics not deleted in time: {doomed}")


def topic_partitions(conn: ConnectionSettings, names: Iterable[str]) -> dict[str, int]:
    """The partition count of each topic (topics that do not exist are left out)."""
    metadata = admin_client(conn).list_topics(timeout=15)
    return {n: len(metadata.topics[n].partitions) for n in names if n in metadata.topics}
