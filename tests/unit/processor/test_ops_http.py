"""The operations endpoint serves metrics, liveness and readiness with reasons."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from streams.health import WorkerHealth
from streams.metrics import WorkerMetrics
from streams.processor.ops_http import OpsServer


@pytest.fixture
def served() -> Iterator[tuple[str, WorkerHealth]]:
    health = WorkerHealth()
    server = OpsServer("127.0.0.1", 0, WorkerMetrics({"crm.contacts": "contacts"}), health)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", health
    finally:
        server.stop()


def test_endpoints(served: tuple[str, WorkerHealth]) -> None:
    base, health = served
    assert httpx.get(f"{base}/healthz", trust_env=False).json() == {"alive": True}
    not_ready = httpx.get(f"{base}/readyz", trust_env=False)
    assert not_ready.status_code == 503
    assert set(not_ready.json()["problems"]) == {
        "no partitions assigned",
        "broker not answering",
        "registry not answering",
    }
    health.assigned, health.broker_ok, health.registry_ok = 2, time.monotonic(), time.monotonic()
    assert httpx.get(f"{base}/readyz", trust_env=False).status_code == 200
    metrics = httpx.get(f"{base}/metrics", trust_env=False)
    assert metrics.status_code == 200 and "crm_anon_events_consumed_total" in metrics.text
    assert httpx.get(f"{base}/other", trust_env=False).status_code == 404
    health.failed = True
    assert httpx.get(f"{base}/healthz", trust_env=False).status_code == 503
