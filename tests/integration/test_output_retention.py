"""Output topics keep records long enough for the backdated Kafka timestamps the policy writes (real broker).

Kafka deletes a segment once its newest timestamp is older than ``retention.ms``; the worker stamps outputs
with the input's timestamp coarsened to the month, so an output topic with a week's retention would lose
records as soon as they are written (the local broker keeps 24 hours: it lost them within minutes)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

from streams.kafka.config import admin_client
from streams.settings import Settings
from tests.integration.support import create_topics, deployed_worker
from tests.integration.test_record_privacy import outputs_by_position, policy_writer
from tests.integration.test_worker_debezium import contact, envelope

pytestmark = pytest.mark.integration

MONTH_S = 31 * 86_400
WEEK_MS = 7 * 86_400 * 1000


def topic_retention_ms(settings: Settings, topic: str) -> int:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    client = admin_client(settings.connection)  # held: a collected client cancels its futures
    entries = client.describe_configs([resource])[resource].result(timeout=30)
    return int(entries["retention.ms"].value)


def test_a_created_output_topic_keeps_month_backdated_records(live_settings: Settings, tmp_path: Path) -> None:
    """The output topic keeps records the readable week plus the month the timestamps go back, and a record
    stamped at the start of its month is there to read."""
    with deployed_worker(live_settings, tmp_path, policy_writer({}, metadata={"time": "month"})) as dep:
        outputs_by_position(dep, dep.produce_avro([({"id": 1}, envelope("c", None, contact(1, "retention")))]))
        [record] = dep.read(dep.output_topic)
        assert topic_retention_ms(live_settings, dep.output_topic) == WEEK_MS + MONTH_S * 1000
        # The audit and dead-letter topics are not backdated: the broker's default applies.
        assert topic_retention_ms(live_settings, dep.audit_topic) != WEEK_MS + MONTH_S * 1000
    assert record.timestamp_ms is not None and record.timestamp_ms % 86_400_000 == 0  # a month start


def test_an_output_topic_that_would_delete_backdated_records_is_refused(
    live_settings: Settings, tmp_path: Path
) -> None:
    uid = uuid.uuid4().hex[:8]
    output = f"anon.it.{uid}.crm.public.contacts"
    create_topics(live_settings, {output: (3, {"retention.ms": "86400000"})})
    with deployed_worker(live_settings, tmp_path, policy_writer({}, metadata={"time": "month"}), uid=uid) as dep:
        assert dep.process is not None
        code = dep.process.wait(90)
        log = dep.log_text().decode(errors="replace")
    assert code != 0
    assert f"output topic {output} deletes records after retention.ms=86400000" in log
    assert f"retention.ms >= {WEEK_MS + MONTH_S * 1000}" in log


def test_an_output_topic_with_log_append_time_is_refused(live_settings: Settings, tmp_path: Path) -> None:
    """The broker would stamp the append time over the coarsened timestamp: the event time, nearly."""
    uid = uuid.uuid4().hex[:8]
    output = f"anon.it.{uid}.crm.public.contacts"
    create_topics(live_settings, {output: (3, {"retention.ms": "-1", "message.timestamp.type": "LogAppendTime"})})
    with deployed_worker(live_settings, tmp_path, policy_writer({}), uid=uid) as dep:
        assert dep.process is not None
        code = dep.process.wait(90)
        log = dep.log_text().decode(errors="replace")
    assert code != 0
    assert f"output topic {output} has message.timestamp.type=LogAppendTime" in log


def test_an_hour_coarsened_source_fits_the_default_retention(live_settings: Settings, tmp_path: Path) -> None:
    """The default (Kafka timestamp to the hour) needs no more than an hour beyond any retention: a topic
    with a day's retention is accepted and left as it is; a created one gets the broker's default."""
    uid = uuid.uuid4().hex[:8]
    output = f"anon.it.{uid}.crm.public.contacts"
    create_topics(live_settings, {output: (3, {"retention.ms": "86400000"})})
    with deployed_worker(live_settings, tmp_path, policy_writer({}), uid=uid) as dep:
        outputs_by_position(dep, dep.produce_avro([({"id": 2}, envelope("c", None, contact(2, "retention")))]))
    assert topic_retention_ms(live_settings, output) == 86_400_000
