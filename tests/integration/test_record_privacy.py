"""Record-level privacy on the real broker: envelope metadata defaults, durable DP releases (Faust tables with
RocksDB and changelog topics) across a SIGKILL and a rebalance, budgets, and a date shift that holds."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.envelope.metadata import coarsen_epoch
from streams.settings import REPO_ROOT, Settings
from tests.integration.support import Deployment, deployed_worker, retrying
from tests.integration.test_worker_debezium import contact, envelope

pytestmark = pytest.mark.integration

DAY_US = 86_400 * 1_000_000
HOUR_MS = 3_600_000


def policy_writer(
    fields: dict[str, Any], metadata: dict[str, Any] | None = None, k_anonymity: dict[str, Any] | None = None
) -> Callable[[Path, str, str], None]:
    def write(path: Path, source_topic: str, output_topic: str) -> None:
        base = yaml.safe_load((REPO_ROOT / "tests" / "policies" / "crm-fail-closed.yaml").read_text())
        contacts = next(s for s in base["sources"] if s["name"] == "contacts")
        contacts.update(topic=source_topic, output_topic=output_topic)
        contacts["fields"].update(fields)
        if metadata is not None:
            contacts["metadata"] = metadata
        if k_anonymity is not None:
            contacts["k_anonymity"] = k_anonymity
        base["sources"] = [contacts]
        path.write_text(yaml.safe_dump(base, sort_keys=False))

    return write


DP_FIELDS = {"lifetime_value": {"transform": "laplace", "epsilon": 1.0, "lower": 0, "upper": 100_000, "budget": 1.0}}


def outputs_by_position(dep: Deployment, positions: list[tuple[int, int]], timeout_s: float = 150) -> list[Any]:
    """The audit of each input position's first processing, in input order.

    Delivery is at least once: a rebalance right after a worker starts (the previous member leaving the group)
    can hand a batch over before its offsets are committed, so a position may be audited twice. The first
    audit in the topic is the one whose output a consumer saw first; later ones are re-runs."""
    audits = retrying(lambda: dep.audits_for(positions, timeout_s=timeout_s), timeout_s=timeout_s + 30)
    assert all(a["outcome"] == "PUBLISHED" for a in audits), [a["reason_code"] for a in audits]
    first: dict[tuple[int, int], Any] = {}
    for audit in audits:
        first.setdefault((audit["source_partition"], audit["source_offset"]), audit)
    return [first[position] for position in positions]


def output_values(dep: Deployment) -> list[tuple[Any, Any, Any]]:
    """(output record, key, value) for every input position's first output, in partition order: a redelivered
    batch (at least once, see ``outputs_by_position``) writes its outputs again, with the same source headers."""
    seen: set[tuple[bytes, ...]] = set()
    firsts = []
    for record in retrying(lambda: dep.read(dep.output_topic)):
        headers = dict(record.headers)
        position = tuple(headers.get(f"crm-anonymizer-source-{part}", b"") for part in ("topic", "partition", "offset"))
        if position in seen:
            continue
        seen.add(position)
        firsts.append((record, dep.deserialize_key(record), dep.deserialize(record)))
    return firsts


def test_envelope_defaults_and_the_kafka_timestamp(live_settings: Settings, tmp_path: Path) -> None:
    with deployed_worker(live_settings, tmp_path, policy_writer({})) as dep:
        positions = dep.produce_avro([({"id": 1}, envelope("c", None, contact(1, "defaults")))])
        outputs_by_position(dep, positions)
        [(record, _, value)] = output_values(dep)
        [source_record] = dep.read(dep.source_topic)
    assert value["ts_ms"] == coarsen_epoch(1_700_000_000_123, "ms", "hour")
    assert value["source"]["ts_ms"] == coarsen_epoch(1_700_000_000_000, "ms", "hour")
    for position in ("lsn", "txId", "xmin", "sequence"):
        assert position not in value["source"]
    assert "transaction" not in value
    assert value["source"]["table"] == "contacts"  # technical fields stay
    assert record.timestamp_ms == source_record.timestamp_ms - source_record.timestamp_ms % HOUR_MS
    assert record.timestamp_ms != source_record.timestamp_ms or source_record.timestamp_ms % HOUR_MS == 0


def test_dp_noise_survives_a_sigkill_and_budgets_suppress(live_settings: Settings, tmp_path: Path) -> None:
    first_state, second_state = tmp_path / "state-a", tmp_path / "state-b"
    with deployed_worker(
        live_settings, tmp_path, policy_writer(DP_FIELDS), extra_env={"CRM_ANON_STATE_DIR": str(first_state)}
    ) as dep:
        uid = dep.source_topic.split(".")[1]
        keys = (dep.tokenization_key, dep.dead_letter_key)
        created = dep.produce_avro([({"id": 5}, envelope("c", None, contact(5, "dp", lifetime_value=1000.0)))])
        outputs_by_position(dep, created)
        [(_, _, first)] = output_values(dep)
        noisy = first["after"]["lifetime_value"]
        assert noisy is not None and noisy != 1000.0
        assert dep.process is not None
        dep.process.kill()  # SIGKILL between two updates of the record
        dep.process.wait(10)
    # Another state directory: the replacement restores the table from its changelog topic on the broker, as a
    # worker on another machine would.
    with deployed_worker(
        live_settings,
        tmp_path,
        policy_writer(DP_FIELDS),
        uid=uid,
        keys=keys,
        extra_env={"CRM_ANON_STATE_DIR": str(second_state)},
    ) as dep:
        unchanged = dep.produce_avro(
            [
                (
                    {"id": 5},
                    envelope(
                        "u", contact(5, "dp", lifetime_value=1000.0), contact(5, "dp", lifetime_value=1000.0, city="X")
                    ),
                )
            ]
        )
        outputs_by_position(dep, unchanged)
        changed = dep.produce_avro(
            [
                (
                    {"id": 5},
                    envelope("u", contact(5, "dp", lifetime_value=1000.0), contact(5, "dp", lifetime_value=2000.0)),
                )
            ]
        )
        [audit] = outputs_by_position(dep, changed)
        values = [v for _, _, v in output_values(dep)]
    # At-least-once: the create may come out again after the SIGKILL; if so, with the same noise.
    creates = [v for v in values if v["op"] == "c"]
    assert {v["after"]["lifetime_value"] for v in creates} == {noisy}
    update, spent = [v for v in values if v["op"] == "u"]
    assert update["before"]["lifetime_value"] == update["after"]["lifetime_value"] == noisy
    # The budget (1.0) paid for one release; 2000.0 would be a second one: suppressed, and the audit says so.
    assert spent["before"]["lifetime_value"] == noisy
    assert spent["after"]["lifetime_value"] is None
    assert {"path": "lifetime_value", "action": "suppressed(dp budget spent)"} in audit["field_actions"]


def metric_samples(port: int) -> dict[tuple[str, str], float]:
    """(sample name, source label) -> value, from the worker's /metrics page."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
        text = page.read().decode()
    return {
        (sample.name, sample.labels.get("source", "") + sample.labels.get("le", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


K_SECTION = {"k": 2, "quasi_identifiers": ["city", "job_title"]}


def test_k_anonymity_counts_survive_a_restart_in_a_faust_table(live_settings: Settings, tmp_path: Path) -> None:
    """Two subjects share a combination before a restart: both go out suppressed (k = 2 needs two others).
    After a graceful restart on another state directory (the table comes back from its changelog topic), a
    repeat of the first subject is still suppressed (one person is one member), and a third subject is
    published: the counts lived through the restart. A fresh table would have suppressed it."""
    writer = policy_writer({}, k_anonymity=K_SECTION)

    def leeds(contact_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"id": contact_id}, envelope("c", None, contact(contact_id, "k-analyst"))

    with deployed_worker(
        live_settings, tmp_path, writer, extra_env={"CRM_ANON_STATE_DIR": str(tmp_path / "state-a")}
    ) as dep:
        uid = dep.source_topic.split(".")[1]
        keys = (dep.tokenization_key, dep.dead_letter_key)
        before = outputs_by_position(dep, dep.produce_avro([leeds(1), leeds(2)]))
        samples = _k_metrics_seen(dep.metrics_port)
    for audit in before:
        suppressed = {a["path"] for a in audit["field_actions"] if a["action"] == "suppressed(k-anonymity)"}
        assert suppressed == {"city", "job_title"}
    assert samples[("crm_anon_k_anonymity_suppressed_total", "contacts")] == 2
    assert samples[("crm_anon_k_anonymity_class_size_count", "contacts")] == 2
    with deployed_worker(
        live_settings, tmp_path, writer, uid=uid, keys=keys, extra_env={"CRM_ANON_STATE_DIR": str(tmp_path / "state-b")}
    ) as dep:
        repeat, third = outputs_by_position(dep, dep.produce_avro([leeds(1), leeds(3)]))
        values = {v["after"]["city"] for _, _, v in output_values(dep)}
    assert "suppressed(k-anonymity)" in {a["action"] for a in repeat["field_actions"]}
    assert "suppressed(k-anonymity)" not in {a["action"] for a in third["field_actions"]}
    assert values == {None, "Leeds"}


def _k_metrics_seen(port: int, timeout_s: float = 30.0) -> dict[tuple[str, str], float]:
    """The metrics once the batch loop has counted both suppressions (it does so just after the audits)."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = metric_samples(port)
        if samples.get(("crm_anon_k_anonymity_suppressed_total", "contacts"), 0) >= 2 or time.monotonic() > deadline:
            return samples
        time.sleep(0.5)


def test_dp_noise_is_the_same_on_another_worker_after_a_rebalance(live_settings: Settings, tmp_path: Path) -> None:
    ids = list(range(1, 13))
    with deployed_worker(
        live_settings, tmp_path, policy_writer(DP_FIELDS), extra_env={"CRM_ANON_STATE_DIR": str(tmp_path / "a")}
    ) as first:
        uid = first.source_topic.split(".")[1]
        keys = (first.tokenization_key, first.dead_letter_key)
        creates = first.produce_avro(
            [({"id": i}, envelope("c", None, contact(i, "rb", lifetime_value=100.0 * i))) for i in ids]
        )
        outputs_by_position(first, creates)
        noisy = {k["id"]: v["after"]["lifetime_value"] for _, k, v in output_values(first)}
        with deployed_worker(
            live_settings,
            tmp_path,
            policy_writer(DP_FIELDS),
            uid=uid,
            keys=keys,
            extra_env={"CRM_ANON_STATE_DIR": str(tmp_path / "b")},
        ) as second:
            deadline = time.monotonic() + 120
            topic = second.source_topic.encode()
            while not any(b"partitions_assigned" in line and topic in line for line in second.log_text().splitlines()):
                assert time.monotonic() < deadline, "the second worker never got partitions"
                time.sleep(1)
            time.sleep(3)  # let the group settle: both workers own partitions
            row = {i: contact(i, "rb", lifetime_value=100.0 * i) for i in ids}
            updates = second.produce_avro(
                [({"id": i}, envelope("u", row[i], {**row[i], "city": "Rebalanced"})) for i in ids]
            )
            outputs_by_position(second, updates, timeout_s=180)
            second_log = second.log_text()
        values = [(k, v) for _, k, v in output_values(first) if v["op"] == "u"]
    assert len(values) == len(ids)
    for key, value in values:
        assert value["before"]["lifetime_value"] == value["after"]["lifetime_value"] == noisy[key["id"]]
    assert re.search(rb'"batch"', second_log), "the second worker processed no batch"


def test_a_shifted_date_is_not_recoverable_from_the_kept_event_times(live_settings: Settings, tmp_path: Path) -> None:
    shift = {"transform": "date_shift", "max_days": 10}
    fields = {"birth_date": shift, "updated_at": shift, "created_at": {"transform": "generalize", "to": "month"}}
    now_us = int(time.time() * 1_000_000)
    rows = {i: contact(i, "shift", birth_date=6000 + 37 * i, updated_at=now_us - i * 1_000_003) for i in range(1, 61)}
    with deployed_worker(live_settings, tmp_path, policy_writer(fields, {"time": "month"})) as dep:
        positions = dep.produce_avro([({"id": i}, envelope("c", None, r)) for i, r in rows.items()])
        outputs_by_position(dep, positions)
        outs = output_values(dep)
    assert len(outs) == len(rows)
    # The true birth dates are 37 days apart and a shift moves a date by at most 10: each output's own input
    # is the one row within 10 days (how the test, not the attacker, links them).
    recovered_month, recovered_hour = 0, 0
    for record, _, value in outs:
        after = value["after"]
        # The attacker sees the event time only to the month (envelope and Kafka timestamp).
        month_start_ms = record.timestamp_ms
        assert month_start_ms == coarsen_epoch(month_start_ms, "ms", "month")
        assert value["source"]["ts_ms"] == coarsen_epoch(1_700_000_000_000, "ms", "month")
        # Best guess of the offset: updated_at (which tracks the event) minus the middle of the kept month,
        # within the shift's range.
        mid_month_us = (month_start_ms + 15 * 86_400_000) * 1000
        guess_days = max(-11, min(10, (after["updated_at"] - mid_month_us) // DAY_US))
        truth = next(r for r in rows.values() if _shifted_by_whole_days(after["birth_date"], r["birth_date"]))
        recovered_month += after["birth_date"] - guess_days == truth["birth_date"]
        # Control: with the event time kept to the hour (the default), the same attack recovers the offset.
        true_updated = truth["updated_at"]
        hour_start_us = true_updated - true_updated % (HOUR_MS * 1000)
        offset_us = after["updated_at"] - hour_start_us - HOUR_MS * 500
        recovered_hour += after["birth_date"] - offset_us // DAY_US == truth["birth_date"]
    assert recovered_hour >= 0.9 * len(outs)  # the attack works when the event time is kept finely
    assert recovered_month <= 0.3 * len(outs)  # and fails against month-coarsened event times


def _shifted_by_whole_days(shifted: int, true: int) -> bool:
    return 1 <= abs(shifted - true) <= 10
