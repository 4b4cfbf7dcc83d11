"""Metrics and health of a running worker on the real broker: counts per source and reason, latency, lag,
/healthz and /readyz; and no input value, key or policy parameter on /metrics (canaries)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.errors import ReasonCode
from streams.settings import Settings
from tests.integration.support import Deployment, deployed_worker
from tests.integration.test_worker_debezium import CANARIES, contact, envelope

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def observed_worker(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp: Path = tmp_path_factory.mktemp("ops")
    with deployed_worker(live_settings, tmp, extra_env={"CRM_ANON_LAG_INTERVAL_S": "1"}) as dep:
        yield dep


def get(dep: Deployment, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{dep.metrics_port}{path}", timeout=5, trust_env=False)


def samples(dep: Deployment) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = get(dep, "/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def wait_for(predicate: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.5)


def test_probes_answer_and_readiness_follows_the_assignment(observed_worker: Deployment) -> None:
    dep = observed_worker

    def up() -> bool:
        dep.assert_alive()
        try:
            return get(dep, "/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up)
    wait_for(lambda: get(dep, "/readyz").status_code == 200, timeout_s=90)
    assert get(dep, "/readyz").json() == {"ready": True, "problems": []}
    assert get(dep, "/nothing").status_code == 404


def test_counts_latency_and_lag_per_source_without_values(observed_worker: Deployment) -> None:
    dep = observed_worker
    wait_for(lambda: get(dep, "/readyz").status_code == 200, timeout_s=90)
    before = samples(dep)
    marker = f"ops-{os.urandom(4).hex()}"
    good = dep.produce_avro([({"id": 500 + i}, envelope("c", None, contact(500 + i, marker))) for i in range(20)])
    bad = dep.produce_raw([(b"\x00\x00\x00\x00\x01" + CANARIES["email"].encode(), os.urandom(3))])
    dep.audits_for(good + bad)

    source = (("source", "contacts"),)

    def delta(name: str, labels: tuple[tuple[str, str], ...] = source) -> float:
        now = samples(dep)
        return now.get((name, labels), 0.0) - before.get((name, labels), 0.0)

    wait_for(lambda: delta("crm_anon_events_consumed_total") >= 21)
    assert delta("crm_anon_events_published_total") == 20
    assert delta("crm_anon_audit_events_total") == 21
    letters = {
        dict(labels)["reason"]: value - before.get((name, labels), 0.0)
        for (name, labels), value in samples(dep).items()
        if name == "crm_anon_events_dead_lettered_total" and ("source", "contacts") in labels
    }
    assert sum(letters.values()) == 1 and all(r in {str(c) for c in ReasonCode} for r in letters)
    assert delta("crm_anon_end_to_end_latency_seconds_count", ()) >= 21
    assert delta("crm_anon_batch_size_count", ()) >= 1
    now = samples(dep)
    assert now[("crm_anon_dp_budget_exhausted_total", source)] == 0  # present, fed by the privacy work
    assert now[("crm_anon_k_anonymity_suppressed_total", source)] == 0
    info = [labels for (name, labels) in now if name == "crm_anon_build_info"]
    assert info and dict(info[0])["policy_id"] == "crm-default" and len(dict(info[0])["policy_hash"]) == 64

    # Lag: every partition of the source topic reported, and back to 0 once the group has committed.
    def caught_up() -> bool:
        rows = {k: v for k, v in samples(dep).items() if k[0] == "crm_anon_consumer_lag_messages"}
        mine = [v for (_, labels), v in rows.items() if ("topic", dep.source_topic) in labels]
        return len(mine) == 3 and all(v == 0 for v in mine)

    wait_for(caught_up, timeout_s=60)
    text = get(dep, "/metrics").text
    for canary in CANARIES.values():
        assert canary not in text
    assert dep.tokenization_key not in text and dep.dead_letter_key not in text
    assert "salt" not in text.lower() and "epsilon" not in text.lower()  # no policy parameters
