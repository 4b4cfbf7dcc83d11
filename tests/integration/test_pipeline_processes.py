"""Two pipeline processes on the real broker (``CRM_ANON_PIPELINE_PROCESSES=2``): partitions are split between
them, each subject's DP releases stay consistent across batches, and audits keep per-partition order."""

from __future__ import annotations

import subprocess
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.integration.support import create_topics, deployed_worker
from tests.integration.test_record_privacy import (
    DP_FIELDS,
    metric_samples,
    output_values,
    outputs_by_position,
    policy_writer,
)
from tests.integration.test_worker_debezium import contact, envelope

pytestmark = pytest.mark.integration

SUBJECTS = 60


def pipeline_children(pid: int) -> list[int]:
    """The worker's spawned pipeline processes (not multiprocessing's resource tracker)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    found = []
    for child in (int(p) for p in out.split()):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            found.append(child)
    return found


def test_two_processes_split_the_partitions_and_keep_releases_and_order(
    live_settings: Settings, tmp_path: Path
) -> None:
    uid = uuid.uuid4().hex[:8]
    create_topics(live_settings, {f"it.{uid}.crm.public.contacts": (3, {})})
    with deployed_worker(
        live_settings, tmp_path, policy_writer(DP_FIELDS), uid=uid, extra_env={"CRM_ANON_PIPELINE_PROCESSES": "2"}
    ) as dep:
        # Each subject's update right behind its create, mostly in the same batch: a subject's records must meet
        # in one child (its DP release is made once; its budget of one release would null a second draw). Where
        # a batch ends between them, the update's release comes from the stored state.
        events = []
        for i in range(SUBJECTS):
            row = contact(i, "two", lifetime_value=1000.0 + i)
            events += [({"id": i}, envelope("c", None, row)), ({"id": i}, envelope("u", row, {**row, "city": "Y"}))]
        created = dep.produce_avro(events)
        outputs_by_position(dep, created)
        assert dep.process is not None
        assert len(pipeline_children(dep.process.pid)) == 2
        assert {p for p, _ in created} == {0, 1, 2}
        samples = metric_samples(dep.metrics_port)
        audit_records = dep.read(dep.audit_topic)

    assert samples[("crm_anon_pipeline_child_starts_total", "")] == 2
    released: dict[str, set[float | None]] = defaultdict(set)
    for _, key, value in output_values(dep):
        released[key["id"]].add(value["after"]["lifetime_value"])
        if value["before"] is not None:
            released[key["id"]].add(value["before"]["lifetime_value"])
    assert len(released) == SUBJECTS
    for values in released.values():
        assert len(values) == 1 and None not in values  # one noisy value per subject, before and after alike

    # Audits are keyed by source partition: within each, the source offsets come in processing order (first
    # occurrences: a batch handed over in a rebalance right after start may be audited again, at least once).
    offsets: dict[int, list[int]] = defaultdict(list)
    for record in audit_records:
        audit = dep.deserialize(record)
        if audit["source_offset"] not in offsets[audit["source_partition"]]:
            offsets[audit["source_partition"]].append(audit["source_offset"])
    assert set(offsets) == {0, 1, 2}
    for partition_offsets in offsets.values():
        assert partition_offsets == sorted(partition_offsets)
