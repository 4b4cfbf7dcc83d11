"""Worker metrics from batch stats: per source, per reason, latency; no record content in any label or value."""

from __future__ import annotations

import time

from prometheus_client import generate_latest

from streams.metrics import UNKNOWN_SOURCE, WorkerMetrics
from streams.ports import BatchStats, RawRecord

CANARY = "canary.metrics.91ab@leak-test.example"


def record(topic: str, ts_ms: int | None, offset: int = 0) -> RawRecord:
    return RawRecord(topic, 0, offset, ts_ms, CANARY.encode(), CANARY.encode(), [("h", CANARY.encode())])


def value(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    assert found is not None, (name, labels)
    return found


def test_a_batch_is_counted_per_source_and_reason() -> None:
    metrics = WorkerMetrics({"crm.contacts": "contacts", "crm.accounts": "accounts"})
    stats = BatchStats()
    stats.note_published("crm.contacts")
    stats.note_audited("crm.contacts")
    stats.note_dead_lettered("crm.accounts", "wire.bad_magic_byte")
    stats.note_audited("crm.accounts")
    stats.note_dead_lettered("elsewhere", "policy.no_source")
    stats.budget_exhausted["contacts"] = 2
    stats.k_suppressed["accounts"] = 3
    stats.registry_errors, stats.registry_stall_s = 4, 1.5
    records = [record("crm.contacts", 1_000_000), record("crm.accounts", 1_000_500, 1), record("elsewhere", None, 2)]
    metrics.observe_batch(records, stats, 0.02, now_s=1_002.0)

    assert value(metrics, "crm_anon_events_consumed_total", source="contacts") == 1
    assert value(metrics, "crm_anon_events_consumed_total", source=UNKNOWN_SOURCE) == 1
    assert value(metrics, "crm_anon_events_published_total", source="contacts") == 1
    assert value(metrics, "crm_anon_events_published_total", source="accounts") == 0
    assert value(metrics, "crm_anon_audit_events_total", source="accounts") == 1
    assert value(metrics, "crm_anon_events_dead_lettered_total", source="accounts", reason="wire.bad_magic_byte") == 1
    assert value(metrics, "crm_anon_events_dead_lettered_total", source=UNKNOWN_SOURCE, reason="policy.no_source") == 1
    assert value(metrics, "crm_anon_dp_budget_exhausted_total", source="contacts") == 2
    assert value(metrics, "crm_anon_k_anonymity_suppressed_total", source="accounts") == 3
    assert value(metrics, "crm_anon_registry_errors_total", where="pipeline") == 4
    assert value(metrics, "crm_anon_registry_stall_seconds_total") == 1.5
    assert value(metrics, "crm_anon_batch_size_count") == 1 and value(metrics, "crm_anon_batch_size_sum") == 3
    # Latency: output time minus the input timestamp; records without a timestamp are not observed.
    assert value(metrics, "crm_anon_end_to_end_latency_seconds_count") == 2
    assert value(metrics, "crm_anon_end_to_end_latency_seconds_sum") == 2.0 + 1.5
    assert value(metrics, "crm_anon_end_to_end_latency_seconds_bucket", le="2.5") == 2
    assert value(metrics, "crm_anon_end_to_end_latency_seconds_bucket", le="1.0") == 0
    assert CANARY not in generate_latest(metrics.registry).decode()


def test_lag_and_build_info() -> None:
    metrics = WorkerMetrics({"crm.contacts": "contacts"})
    metrics.set_policy("crm-default", 3, "ab" * 32)
    metrics.set_lag("crm.contacts", 2, committed=40, messages=7, seconds=12.5)
    assert value(metrics, "crm_anon_consumer_lag_messages", topic="crm.contacts", partition="2") == 7
    assert value(metrics, "crm_anon_consumer_lag_seconds", topic="crm.contacts", partition="2") == 12.5
    assert value(metrics, "crm_anon_committed_offset", topic="crm.contacts", partition="2") == 40
    info = {"policy_id": "crm-default", "policy_version": "3", "policy_hash": "ab" * 32}
    assert value(metrics, "crm_anon_build_info", version=__import__("streams").__version__, **info) == 1


def test_batch_stages_are_histograms_with_the_workers_own_stages() -> None:
    metrics = WorkerMetrics({"crm.contacts": "contacts"})
    stats = BatchStats(stages={"anonymize": 0.004, "output_drain": 0.002})
    records = [record("crm.contacts", 1_000_000), record("crm.contacts", 1_000_200, 1)]
    started = time.perf_counter()
    metrics.note_stages(stats, records, started, started, now_s=1_001.0)
    metrics.observe_batch(records, stats, 0.01, now_s=1_001.0)

    assert abs(stats.stages["queued"] - 0.9) < 0.05  # mean age of the records when the batch started
    assert set(stats.stages) >= {"queued", "state_read", "handoff", "anonymize", "output_drain"}
    assert value(metrics, "crm_anon_batch_stage_seconds_count", stage="anonymize") == 1
    assert value(metrics, "crm_anon_batch_stage_seconds_sum", stage="anonymize") == 0.004
    assert CANARY not in generate_latest(metrics.registry).decode()
