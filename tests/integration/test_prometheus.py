"""A real Prometheus (Debian's package) scrapes a running worker: the lag and latency queries, the alert
rules loaded, and every query of the Grafana dashboard, answer as expected."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest
import yaml

from streams.settings import REPO_ROOT, Settings
from tests.integration.support import Deployment, deployed_worker, free_port
from tests.integration.test_worker_debezium import contact, envelope

pytestmark = pytest.mark.integration

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "crm-anonymizer.json"
ALERTS = REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"
OLD_S = 120  # the input timestamp of the latency probe records, seconds in the past


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base}/api/v1/query", params={"query": expr}, timeout=10, trust_env=False)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (expr, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


@pytest.fixture(scope="module")
def worker(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    env = {"CRM_ANON_LAG_INTERVAL_S": "1", "CRM_ANON_READY_MAX_SILENCE_S": "5"}
    with deployed_worker(live_settings, tmp_path_factory.mktemp("prom-worker"), extra_env=env) as dep:
        yield dep


@pytest.fixture(scope="module")
def prometheus(worker: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not on PATH: install Debian's `prometheus` package")
    tmp = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {"job_name": "crm-anonymizer", "static_configs": [{"targets": [f"127.0.0.1:{worker.metrics_port}"]}]}
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (tmp / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        prom = Prometheus(f"http://127.0.0.1:{port}")
        wait_for(lambda: _answers(prom), 30, process)
        yield prom
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _answers(prom: Prometheus) -> bool:
    try:
        return bool(prom.query('up{job="crm-anonymizer"} == 1'))
    except (httpx.HTTPError, json.JSONDecodeError, AssertionError):
        return False


def wait_for(predicate: Callable[[], bool], timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert process is None or process.poll() is None, "process exited"
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.5)


def pipeline_child(dep: Deployment) -> psutil.Process:
    assert dep.process is not None
    children = psutil.Process(dep.process.pid).children(recursive=True)
    workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]  # not the resource tracker
    assert len(workers) == 1, [c.cmdline() for c in children]
    return workers[0]


def test_latency_lag_and_dashboard_queries(worker: Deployment, prometheus: Prometheus) -> None:
    dep = worker
    topic = dep.source_topic
    # Latency: records stamped OLD_S seconds ago come out OLD_S seconds after their input timestamp.
    old = int((time.time() - OLD_S) * 1000)
    positions = dep.produce_avro(
        [({"id": 900 + i}, envelope("c", None, contact(900 + i, "prom"))) for i in range(10)], timestamp_ms=old
    )
    dep.audits_for(positions + dep.produce_raw([(None, b"\x07 not a frame")]))  # and one dead letter
    p50 = "histogram_quantile(0.5, sum by (le) (rate(crm_anon_end_to_end_latency_seconds_bucket[1m])))"
    wait_for(lambda: (prometheus.scalar(p50) or 0.0) > 60.0, 30)
    assert (prometheus.scalar(p50) or 0.0) <= 300.0  # the 60-300 s bucket holds the 120 s records

    # Lag: freeze the pipeline child; the parent keeps consuming but commits nothing, so 25 new records
    # show up as lag in messages, and their age as lag in seconds.
    lag = f'sum(max by (topic, partition) (crm_anon_consumer_lag_messages{{topic="{topic}"}}))'
    wait_for(lambda: prometheus.scalar(lag) == 0.0, 60)
    child = pipeline_child(dep)
    child.send_signal(signal.SIGSTOP)
    try:
        dep.produce_avro([({"id": 950 + i}, envelope("c", None, contact(950 + i, "lag"))) for i in range(25)])
        wait_for(lambda: prometheus.scalar(lag) == 25.0, 60)
        age = f'max(crm_anon_consumer_lag_seconds{{topic="{topic}"}})'
        wait_for(lambda: (prometheus.scalar(age) or 0.0) >= 3.0, 30)
        wait_for(lambda: (prometheus.scalar("max(crm_anon_batch_in_flight_seconds)") or 0.0) >= 5.0, 30)
        ready = httpx.get(f"http://127.0.0.1:{dep.metrics_port}/readyz", timeout=5, trust_env=False)
        assert ready.status_code == 503 and any("stalled" in p for p in ready.json()["problems"])
    finally:
        child.send_signal(signal.SIGCONT)
    wait_for(lambda: prometheus.scalar(lag) == 0.0, 60)
    assert prometheus.scalar(f'max(crm_anon_consumer_lag_seconds{{topic="{topic}"}})') == 0.0

    # The alert rules are loaded and evaluated by this Prometheus.
    rules = httpx.get(f"{prometheus.base}/api/v1/rules", timeout=10, trust_env=False).json()
    names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
    assert {"CrmAnonConsumerLagHigh", "CrmAnonNoProgress", "CrmAnonDeadLetterRateHigh"} <= names
    assert all(r.get("health") == "ok" for g in rules["data"]["groups"] for r in g["rules"])

    # Every dashboard query runs and returns series from this worker.
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            assert prometheus.query(target["expr"]), (panel["title"], target["expr"])
