"""`crm-anonymizer status`: rates from two scrapes, lag per partition, privacy counters; and the command."""

from __future__ import annotations

import time

from click.testing import CliRunner
from prometheus_client import generate_latest

from streams import status as view
from streams.cli import main
from streams.health import WorkerHealth
from streams.metrics import WorkerMetrics
from streams.ports import BatchStats, RawRecord
from streams.processor.ops_http import OpsServer


def worker_metrics() -> WorkerMetrics:
    metrics = WorkerMetrics({"crm.contacts": "contacts"})
    metrics.set_policy("crm-default", 2, "f" * 64)
    return metrics


def batch(metrics: WorkerMetrics, n: int, dead: int) -> None:
    stats = BatchStats()
    for _ in range(n - dead):
        stats.note_published("crm.contacts")
    for _ in range(dead):
        stats.note_dead_lettered("crm.contacts", "avro.decode_error")
    stats.budget_exhausted["contacts"] = 1
    metrics.observe_batch([RawRecord("crm.contacts", 0, i, None, None, None) for i in range(n)], stats, 0.01)


def test_rates_lag_and_counters() -> None:
    metrics = worker_metrics()
    batch(metrics, 10, 1)
    before = view.parse(generate_latest(metrics.registry).decode())
    batch(metrics, 40, 4)
    metrics.set_lag("crm.contacts", 1, committed=5, messages=12, seconds=3.5)
    metrics.assigned_partitions.set(3)
    after = view.parse(generate_latest(metrics.registry).decode())
    status = view.summarize(before, after, 2.0)
    [contacts] = [s for s in status.sources if s.source == "contacts"]
    assert contacts.consumed_per_s == 20.0 and contacts.published_per_s == 18.0
    assert contacts.dead_lettered_per_s == 2.0 and contacts.dead_lettered_total == 5
    assert contacts.budget_exhausted_total == 2 and contacts.k_suppressed_total == 0
    assert status.partitions == [view.PartitionRow("crm.contacts", 1, 12.0, 3.5)]
    assert status.assigned == 3 and status.policy.startswith("crm-default v2")


def test_the_command_renders_a_running_workers_metrics() -> None:
    metrics = worker_metrics()
    batch(metrics, 10, 1)
    metrics.set_lag("crm.contacts", 0, committed=5, messages=7, seconds=1.0)
    health = WorkerHealth(assigned=1, broker_ok=time.monotonic(), registry_ok=time.monotonic())
    server = OpsServer("127.0.0.1", 0, metrics, health)
    server.start()
    try:
        result = CliRunner().invoke(main, ["status", "--url", f"http://127.0.0.1:{server.port}", "--interval", "0.1"])
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "contacts" in result.output and "crm.contacts" in result.output and "ready" in result.output


def test_no_worker_is_one_line() -> None:
    result = CliRunner().invoke(main, ["status", "--url", "http://127.0.0.1:9", "--interval", "0"])
    assert result.exit_code != 0 and "no worker metrics at http://127.0.0.1:9" in result.output
