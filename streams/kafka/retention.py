"""Time retention of output topics against backdated Kafka timestamps.

The worker stamps an output record with the input's timestamp coarsened as the policy says (a month, by
default in the reference policy), so a record can be written with a timestamp up to a month old. Kafka's
time-based retention deletes a segment once its newest timestamp is older than ``retention.ms``, the active
segment included: on an output topic that keeps records 7 days, every record of a month-coarsened source
written after the 7th of a month would be deleted at the broker's next retention check, before a consumer
that is a few minutes behind could read it. So output topics the worker creates keep records for the
readable time a consumer needs plus how far the timestamps are backdated, and an existing output topic that
keeps them for less than the backdating is refused at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

from streams.kafka.config import admin_client
from streams.settings import ConnectionSettings

#: The least time a record must stay readable once written, beyond its backdating; less is refused.
MIN_READABLE_MS = 3_600_000


def retention_ms(backdates_s: float, readable_ms: int) -> int:
    """``retention.ms`` of an output topic whose timestamps lie up to ``backdates_s`` in the past."""
    return readable_ms + int(backdates_s * 1000)


@dataclass(frozen=True)
class RetentionProblem:
    topic: str
    retention_ms: int
    backdates_s: float

    def message(self) -> str:
        days = self.backdates_s / 86_400
        return (
            f"output topic {self.topic} deletes records after retention.ms={self.retention_ms}, but the policy "
            f"backdates its Kafka timestamps by up to {days:g} days (metadata kafka_timestamp coarsening): records "
            f"would be deleted as soon as written. Set retention.ms >= "
            f"{retention_ms(self.backdates_s, MIN_READABLE_MS)} (or -1), or coarsen the Kafka timestamp less"
        )


def retention_problems(conn: ConnectionSettings, backdates: Mapping[str, float]) -> list[RetentionProblem]:
    """The output topics (``topic -> backdating seconds``) whose time retention is too short for it.
    Compacted topics without ``delete`` and infinite retention (-1) are fine."""
    wanted = {topic: age for topic, age in backdates.items() if age > 0}
    if not wanted:
        return []
    client = admin_client(conn)
    futures = client.describe_configs([ConfigResource(ResourceType.TOPIC, topic) for topic in wanted])
    problems = []
    for resource, future in futures.items():
        entries = future.result(timeout=30)
        policy = entries["cleanup.policy"].value if "cleanup.policy" in entries else "delete"
        if "delete" not in (policy or "delete"):
            continue
        kept = int(entries["retention.ms"].value) if "retention.ms" in entries else -1
        age = wanted[resource.name]
        if kept >= 0 and kept < retention_ms(age, MIN_READABLE_MS):
            problems.append(RetentionProblem(resource.name, kept, age))
    return sorted(problems, key=lambda p: p.topic)
