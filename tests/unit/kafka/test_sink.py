"""KafkaSink without a broker: delivery failures must fail the drain, and say so without payload bytes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from streams.kafka.sink import KafkaSink
from streams.ports import DeliveryError
from streams.settings import ConnectionSettings

UNREACHABLE = "127.0.0.1:9"  # discard port: nothing listens, no broker is contacted


@pytest.fixture
def make_sink() -> Iterator[Callable[[], KafkaSink]]:
    sinks: list[KafkaSink] = []

    def make() -> KafkaSink:
        sink = KafkaSink(ConnectionSettings(kafka_bootstrap=UNREACHABLE), drain_timeout_s=0.3)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:  # drop what could never be delivered, so nothing lingers after the test
        sink._producer.purge()
        sink._producer.flush(0)


def test_undelivered_records_fail_the_drain(make_sink: Callable[[], KafkaSink]) -> None:
    sink = make_sink()
    sink.send("anon.t", b"k", b"CANARY-PAYLOAD-7f3a", [("h", b"v")])
    with pytest.raises(DeliveryError) as info:
        asyncio.run(sink.drain())
    assert "1 records not delivered" in str(info.value)
    assert "CANARY" not in str(info.value)


def test_delivery_error_lands_on_the_records_delivery_by_name() -> None:
    """A broker refusal is reported on that record's Delivery (the pipeline dead-letters it), by name only."""
    from confluent_kafka import Producer

    sink = KafkaSink(ConnectionSettings(kafka_bootstrap=UNREACHABLE), drain_timeout_s=0.3)
    try:
        delivery = sink.send("anon.t", b"k", b"CANARY-PAYLOAD-7f3a", [])
        sink._producer.purge()  # the queued record fails with _PURGE_QUEUE when callbacks are served
        sink._producer.poll(0)
        assert delivery.error is not None
        assert "CANARY" not in delivery.error
        asyncio.run(sink.drain())  # nothing pending: a refusal is not a drain failure
        assert isinstance(sink._producer, Producer)
    finally:
        sink._producer.purge()
        sink._producer.flush(0)


def test_drain_with_nothing_sent_returns(make_sink: Callable[[], KafkaSink]) -> None:
    asyncio.run(make_sink().drain())


def test_a_record_librdkafka_refuses_to_queue_is_that_records_delivery_error() -> None:
    """The reported crash: produce() raised MSG_SIZE_TOO_LARGE out of the sink (only BufferError was caught)."""
    sink = KafkaSink(ConnectionSettings(kafka_bootstrap=UNREACHABLE), drain_timeout_s=0.3, max_record_bytes=10_000)
    try:
        delivery = sink.send("anon.t", b"k", b"CANARY-" * 5_000, [])
        assert delivery.error == "MSG_SIZE_TOO_LARGE"
        asyncio.run(sink.drain())  # nothing was queued
    finally:
        sink._producer.purge()
        sink._producer.flush(0)


def test_a_broker_outage_stalls_the_drain_logged_then_fails_only_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reported exit: a drain failed 60 s into a broker restart while librdkafka would still deliver."""
    import time

    from structlog.testing import capture_logs

    import streams.kafka.sink as sink_module

    monkeypatch.setattr(sink_module, "DRAIN_CHUNK_S", 0.1)
    sink = KafkaSink(ConnectionSettings(kafka_bootstrap=UNREACHABLE), drain_timeout_s=0.6)
    try:
        sink.send("anon.t", b"k", b"v", [])
        started = time.monotonic()
        with capture_logs() as logs, pytest.raises(DeliveryError):
            asyncio.run(sink.drain())
        assert time.monotonic() - started >= 0.5
        events = [entry["event"] for entry in logs]
        assert events[0] == "broker_stalled" and events.count("broker_stalled") == 1
    finally:
        sink._producer.purge()
        sink._producer.flush(0)
