"""Topic housekeeping with confluent-kafka's AdminClient."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]  # not re-exported in stubs

from streams.errors import KafkaAdminError
from streams.kafka.config import admin_client
from streams.settings import ConnectionSettings


def ensure_topics(
    conn: ConnectionSettings, names: Iterable[str], partitions: int, config: dict[str, str] | None = None
) -> None:
    client = admin_client(conn)
    existing = set(client.list_topics(timeout=15).topics)
    wanted = [
        NewTopic(n, num_partitions=partitions, replication_factor=1, config=config or {})
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
