"""Durability of the topics the tools create: settings, and replication factor 1 only on the local services."""

from __future__ import annotations

import pytest

from streams.errors import ConfigError
from streams.kafka.admin import topic_durability
from streams.settings import Settings


def test_defaults_outside_the_local_services_are_three_and_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_ANON_LOCAL_SERVICES", raising=False)
    assert topic_durability(Settings(), durable=True) == (3, {"min.insync.replicas": "2"})


def test_replication_factor_one_for_durable_topics_needs_the_local_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_ANON_LOCAL_SERVICES", raising=False)
    settings = Settings(topic_replication_factor=1)
    with pytest.raises(ConfigError, match="CRM_ANON_LOCAL_SERVICES"):
        topic_durability(settings, durable=True)
    assert topic_durability(settings) == (1, {"min.insync.replicas": "1"})  # source topics (generate)


def test_the_local_flag_gives_single_broker_topics() -> None:
    assert topic_durability(Settings(local_services=True), durable=True) == (1, {"min.insync.replicas": "1"})


def test_a_broker_that_does_not_answer_at_start_up_is_waited_for_and_logged_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from confluent_kafka import KafkaError, KafkaException
    from structlog.testing import capture_logs

    from streams.kafka import admin

    class Metadata:
        def __init__(self) -> None:
            self.topics = {"a": object()}

    class Flaky:
        calls = 0

        def list_topics(self, timeout: float) -> Metadata:
            self.calls += 1
            if self.calls <= 5:
                raise KafkaException(KafkaError(KafkaError._TRANSPORT))
            return Metadata()

    monkeypatch.setattr(admin.time, "sleep", lambda _s: None)
    client = Flaky()
    with capture_logs() as logs:
        assert admin._topics_when_answering(client) == ["a"]
    assert [entry["event"] for entry in logs] == ["broker_stalled", "broker_recovered"]
    assert client.calls == 6
