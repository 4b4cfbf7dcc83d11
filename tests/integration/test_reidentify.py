"""Encrypt in the worker, re-identify with the operator command: real broker, real registry, audited."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from streams.settings import REPO_ROOT, Settings
from tests.integration.support import Deployment, deployed_worker
from tests.integration.test_worker_debezium import contact, envelope

pytestmark = pytest.mark.integration

ENCRYPTION_KEY = "ab" * 32


def encrypting_policy(path: Path, source_topic: str, output_topic: str) -> None:
    base = yaml.safe_load((REPO_ROOT / "policies" / "crm.yaml").read_text())
    contacts = next(s for s in base["sources"] if s["name"] == "contacts")
    contacts.update(topic=source_topic, output_topic=output_topic)
    contacts["fields"]["email"] = {"transform": "encrypt", "mode": "deterministic"}
    contacts["fields"]["job_title"] = "keep"  # the test finds its record by a marker in job_title
    base["sources"] = [contacts]
    path.write_text(yaml.safe_dump(base, sort_keys=False))


def reidentify(
    dep: Deployment, partition: int, offset: int, key_file: Path, actor: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRM_ANON_AUDIT_TOPIC": dep.audit_topic}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "reidentify",
            "--topic",
            dep.output_topic,
            "--partition",
            str(partition),
            "--offset",
            str(offset),
            "--field",
            "after.email",
            "--actor",
            actor,
            "--key-file",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_encrypted_field_is_reidentified_by_an_authorized_operator_and_audited(
    live_settings: Settings, tmp_path: Path
) -> None:
    email = f"reid.{uuid.uuid4().hex[:8]}@example.org"
    with deployed_worker(
        live_settings, tmp_path, encrypting_policy, extra_env={"CRM_ANON_ENCRYPTION_KEY": ENCRYPTION_KEY}
    ) as dep:
        marker = f"reid-{uuid.uuid4().hex[:6]}"
        dep.audits_for(dep.produce_avro([({"id": 77}, envelope("c", None, contact(77, marker, email=email)))]))
        [record] = [r for r in dep.read(dep.output_topic) if r.value and marker.encode() in r.value]
        value = dep.deserialize(record)
        assert value["after"]["email"].startswith("enc_d_e1_")
        assert email.encode() not in record.value

        good_keys = tmp_path / "keys.txt"
        good_keys.write_text(f"e1={ENCRYPTION_KEY}\n")
        done = reidentify(dep, record.partition, record.offset, good_keys, "alice@compliance")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == email
        assert email not in done.stderr

        wrong_keys = tmp_path / "wrong.txt"
        wrong_keys.write_text(f"e1={'cd' * 32}\n")
        refused = reidentify(dep, record.partition, record.offset, wrong_keys, "mallory")
        assert refused.returncode != 0
        assert email not in refused.stdout and email not in refused.stderr

        audits = [dep.deserialize(r) for r in dep.read(dep.audit_topic)]
        reids = [a for a in audits if a["kind"] == "REIDENTIFICATION"]
        assert {a["actor"] for a in reids} == {"alice@compliance", "mallory"}
        assert all(a["source_topic"] == dep.output_topic and a["source_offset"] == record.offset for a in reids)
        assert [a["reason_code"] for a in reids if a["actor"] == "mallory"] == ["reidentify.failed"]
        raw_audit = b"".join(r.value or b"" for r in dep.read(dep.audit_topic))
        assert email.encode() not in raw_audit
