"""Lag arithmetic (committed offset or log start to the high watermark; age of the oldest record) and the
monitor's registry probe."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from streams.kafka import lag
from streams.kafka.lag import lag_messages, lag_seconds
from streams.settings import ConnectionSettings


def test_lag_in_messages() -> None:
    assert lag_messages(committed=40, low=0, high=47) == 7
    assert lag_messages(committed=47, low=0, high=47) == 0
    assert lag_messages(committed=-1, low=10, high=25) == 15  # nothing committed: from the log start
    assert lag_messages(committed=5, low=10, high=25) == 15  # committed offset deleted by retention
    assert lag_messages(committed=-1, low=0, high=0) == 0


def test_lag_in_seconds() -> None:
    assert lag_seconds(None, 10_000.0) == 0.0
    assert lag_seconds(4_000, 10_000.0) == 6.0
    assert lag_seconds(12_000, 10_000.0) == 0.0  # clock skew never gives a negative age


class _Metadata:
    def __init__(self) -> None:
        self.topics: dict[str, object] = {}


class _IdleConsumer:
    """Stands in for librdkafka's consumer: no topics, so a round only probes the registry."""

    def __init__(self, _config: object) -> None:
        self.closed = False

    def list_topics(self, timeout: float) -> _Metadata:
        return _Metadata()

    def close(self) -> None:
        self.closed = True


def _monitor(interval_s: float, on_registry: Callable[[bool], None]) -> lag.LagMonitor:
    return lag.LagMonitor(
        ConnectionSettings(kafka_bootstrap="127.0.0.1:1", registry_url="http://registry.invalid"),
        "group",
        ["topic"],
        interval_s=interval_s,
        on_lag=lambda rows: None,
        on_broker=lambda: None,
        on_registry=on_registry,
    )


def test_monitor_probes_the_registry_through_one_client_for_its_life(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx.get per probe built a client and an SSL context each time: the worker's RSS grew ~4.5 MB/min.
    made: list[httpx.Client] = []
    real_client = httpx.Client
    statuses = iter([200, 200, 503])

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/subjects")
        return httpx.Response(next(statuses, 200))

    def client(**options: object) -> httpx.Client:
        made.append(real_client(transport=httpx.MockTransport(answer), **options))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(lag.httpx, "Client", client)
    monkeypatch.setattr(lag, "Consumer", _IdleConsumer)
    answers: list[bool] = []
    enough = threading.Event()

    def on_registry(ok: bool) -> None:
        answers.append(ok)
        if len(answers) >= 5:
            enough.set()

    monitor = _monitor(interval_s=0.001, on_registry=on_registry)
    monitor.start()
    assert enough.wait(10)
    monitor.stop()
    assert answers[:3] == [True, True, False]
    assert len(made) == 1 and made[0].is_closed


def test_registry_probe_reports_an_unreachable_registry() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    monitor = _monitor(interval_s=1.0, on_registry=lambda ok: None)
    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        assert monitor.registry_answers(client) is False
