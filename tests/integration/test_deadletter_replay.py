"""``crm-anonymizer deadletter list|replay`` on the real broker and registry: after a policy fix, a dead
letter is published once, audited as REPLAYED with its original position."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from streams.settings import Settings
from tests.integration.support import Deployment, deployed_worker, write_policy
from tests.integration.test_worker_debezium import contact, envelope
from tests.integration.test_worker_reliability import position_of

pytestmark = pytest.mark.integration


def cli(dep: Deployment, policy: Path, *args: str) -> list[str]:
    env = {
        **os.environ,
        "CRM_ANON_POLICY_FILE": str(policy),
        "CRM_ANON_AUDIT_TOPIC": dep.audit_topic,
        "CRM_ANON_DEAD_LETTER_TOPIC": dep.dead_letter_topic,
        "CRM_ANON_TOKENIZATION_KEY": dep.tokenization_key,
        "CRM_ANON_DEAD_LETTER_KEY": dep.dead_letter_key,
    }
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "deadletter", *args], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return done.stdout.decode().splitlines()


def test_replay_after_a_policy_fix_publishes_once(live_settings: Settings, tmp_path: Path) -> None:
    with deployed_worker(live_settings, tmp_path) as dep:
        [nan] = dep.produce_avro([({"id": 1}, envelope("c", None, contact(1, "replay", lifetime_value=math.nan)))])
        [good] = dep.produce_avro([({"id": 2}, envelope("c", None, contact(2, "replay")))])
        audits = dep.audits_for([nan, good])
        assert {(a["source_offset"], a["outcome"]) for a in audits} == {
            (nan[1], "DEAD_LETTERED"),
            (good[1], "PUBLISHED"),
        }

    fixed = tmp_path / "fixed.yaml"
    write_policy(fixed, dep.source_topic, dep.output_topic)
    data = yaml.safe_load(fixed.read_text())
    data["sources"][0]["fields"]["lifetime_value"] = "drop"
    fixed.write_text(yaml.safe_dump(data, sort_keys=False))

    [listed] = [json.loads(line) for line in cli(dep, fixed, "list", "--source", dep.source_topic)]
    assert (listed["source_offset"], listed["reason_code"], listed["sealed"]) == (nan[1], "transform.wrong_type", True)

    first = json.loads(cli(dep, fixed, "replay", "--reason", "transform.wrong_type")[-1])
    assert (first["replayed"], first["already_published"], first["unrecoverable"]) == (1, 0, [])
    second = json.loads(cli(dep, fixed, "replay")[-1])
    assert (second["replayed"], second["already_published"]) == (0, 1)

    replayed = [a for a in map(dep.deserialize, dep.read(dep.audit_topic)) if a["outcome"] == "REPLAYED"]
    assert [(a["source_topic"], a["source_partition"], a["source_offset"]) for a in replayed] == [
        (dep.source_topic, nan[0], nan[1])
    ]
    outputs = [position_of(r) for r in dep.read(dep.output_topic)]
    assert sorted(outputs) == sorted([(dep.source_topic, *nan), (dep.source_topic, *good)])
