"""Output topics against backdated Kafka timestamps: time retention and the timestamp type.

The worker stamps an output record with the input's timestamp coarsened as the policy says (to the month in
the reference policy), so a record can be written with a timestamp up to a month old. Kafka's time-based
retention deletes a segment once its newest timestamp is older than ``retention.ms``, the active segment
included: on an output topic that keeps records 7 days, every record of a month-coarsened source written
after the 7th of a month would be deleted at the broker's next retention check, before a consumer a few
minutes behind could read it. So output topics the worker creates for sources backdated by a day or more
keep records the readable time plus the backdating, and an existing output topic that keeps them for less
than the backdating (plus an hour) is refused at start-up. An output topic with ``LogAppendTime`` is refused
too: the broker would replace the coarsened timestamp with the append time, close to the event time.

Not covered: a worker far behind its input (say a week of backlog) writes records older than the backdating;
give such topics the input's retention on top (README, "Envelopes").
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

from streams.errors import KafkaAdminError
from streams.kafka.config import admin_client
from streams.settings import ConnectionSettings

#: The least time a record must stay readable once written, beyond its backdating; less is refused.
MIN_READABLE_MS = 3_600_000
#: Backdating from which created output topics get their own ``retention.ms`` (below it, the broker's default).
OWN_RETENTION_FROM_S = 86_400
DESCRIBE_TIMEOUT_S = 30.0

log = structlog.get_logger(__name__)


def retention_ms(backdates_s: float, readable_ms: int) -> int:
    """``retention.ms`` of an output topic whose timestamps lie up to ``backdates_s`` in the past."""
    return readable_ms + int(backdates_s * 1000)


def created_topic_config(backdates_s: float, readable_ms: int) -> dict[str, str]:
    """What a created output topic needs beyond the shared config: its own retention if backdated a day or more."""
    if backdates_s < OWN_RETENTION_FROM_S:
        return {}
    return {"retention.ms": str(retention_ms(backdates_s, readable_ms))}


@dataclass(frozen=True)
class TopicTimeProblem:
    topic: str
    backdates_s: float
    retention_ms: int | None = None  # None: the problem is the timestamp type
    suggested_ms: int = 0

    def message(self) -> str:
        days = self.backdates_s / 86_400
        if self.retention_ms is None:
            return (
                f"output topic {self.topic} has message.timestamp.type=LogAppendTime: the broker would replace "
                "the coarsened Kafka timestamps with the append time (close to the event time); set CreateTime"
            )
        return (
            f"output topic {self.topic} deletes records after retention.ms={self.retention_ms}, but the policy "
            f"backdates its Kafka timestamps by up to {days:g} days (metadata time coarsening): records would be "
            f"deleted as soon as written. Set retention.ms >= {self.suggested_ms} (or -1), or coarsen less"
        )


def output_topic_problems(
    conn: ConnectionSettings, backdates: Mapping[str, float], readable_ms: int
) -> list[TopicTimeProblem]:
    """The output topics (``topic -> backdating seconds``) whose configuration defeats the backdating: a time
    retention shorter than it (compacted-only topics and -1 are fine), or ``LogAppendTime``."""
    wanted = {topic: age for topic, age in backdates.items() if age > 0}
    if not wanted:
        return []
    problems = []
    for topic, entries in _describe(conn, list(wanted)).items():
        age = wanted[topic]
        if entries.get("message.timestamp.type") == "LogAppendTime":
            problems.append(TopicTimeProblem(topic, age))
        if "delete" not in entries.get("cleanup.policy", "delete"):
            continue
        kept = int(entries.get("retention.ms", "-1"))
        if 0 <= kept < retention_ms(age, MIN_READABLE_MS):
            problems.append(TopicTimeProblem(topic, age, kept, retention_ms(age, readable_ms)))
    return sorted(problems, key=lambda p: p.topic)


def _describe(conn: ConnectionSettings, topics: list[str], *, remind_s: float = 30.0) -> dict[str, dict[str, str]]:
    """Topic configs by name. A broker that does not answer is waited for (logged once, then every
    ``remind_s``), as at every other start-up step: an outage stalls the worker, it does not stop it. A topic
    just created may be unknown to the broker for a moment; any other refusal is one clear error."""
    client = admin_client(conn)  # held until the futures are done: a collected client cancels them
    since = time.monotonic()
    reminded = since
    logged = False
    while True:
        futures = client.describe_configs([ConfigResource(ResourceType.TOPIC, topic) for topic in topics])
        try:
            return {
                resource.name: {name: entry.value for name, entry in future.result(timeout=DESCRIBE_TIMEOUT_S).items()}
                for resource, future in futures.items()
            }
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            name = error.name() if error is not None else type(exc).__name__
            unknown = error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
            stalled = error is not None and (error.retriable() or error.code() in _BROKER_DOWN)
            if not (stalled or (unknown and time.monotonic() - since < DESCRIBE_TIMEOUT_S)):
                raise KafkaAdminError(
                    f"cannot read the configuration of the output topics ({name}); the worker needs "
                    "DescribeConfigs on them to check their retention"
                ) from None
        except TimeoutError:
            name = "timed out"
        now = time.monotonic()
        if not logged or now - reminded >= remind_s:
            log.warning("broker_stalled" if not logged else "broker_still_stalled", what="describe_configs", error=name)
            logged, reminded = True, now
        time.sleep(0.5)


_BROKER_DOWN = frozenset({KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT})
