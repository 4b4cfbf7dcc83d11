"""Policy compliance against the live registry: `policy lint --registry` and the worker's start-up check."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from streams.cli import main
from streams.kafka.config import registry_client
from streams.settings import REPO_ROOT, Settings
from tests.integration.support import deployed_worker
from tests.integration.test_worker_debezium import contact, envelope, outputs_with_marker

pytestmark = pytest.mark.integration


def full_policy_writer(birth_date_to: str) -> object:
    def write(path: Path, source_topic: str, output_topic: str) -> None:
        base = yaml.safe_load((REPO_ROOT / "policies" / "crm.yaml").read_text())
        contacts = next(s for s in base["sources"] if s["name"] == "contacts")
        contacts.update(topic=source_topic, output_topic=output_topic)
        contacts["fields"]["birth_date"] = {"transform": "generalize", "to": birth_date_to}
        contacts["fields"]["job_title"] = "keep"  # the tests find their records by a marker in job_title
        base["sources"] = [contacts]
        path.write_text(yaml.safe_dump(base, sort_keys=False))

    return write


def lint(policy: Path, settings: Settings) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["policy", "lint", str(policy), "--registry", settings.connection.registry_url])
    return result.exit_code, result.output


def test_incompatible_policy_change_is_reported_by_lint_and_refused_by_the_worker(
    live_settings: Settings, tmp_path: Path
) -> None:
    uid = uuid.uuid4().hex[:8]
    keys = ("11" * 32, "22" * 32)
    # 1. A worker publishes with birth_date generalized to a year (int): the output subject is registered.
    with deployed_worker(live_settings, tmp_path, full_policy_writer("year"), uid=uid, keys=keys) as dep:  # type: ignore[arg-type]
        marker = f"compat-{uuid.uuid4().hex[:6]}"
        dep.audits_for(dep.produce_avro([({"id": 1}, envelope("c", None, contact(1, marker)))]))
        [(_, value)] = outputs_with_marker(dep, marker)
        assert value["after"]["birth_date"] == 1989
        good_policy = tmp_path / f"policy-{uid}.yaml"
        code, output = lint(good_policy, live_settings)
        assert code == 0, output
        assert "OK" in output

    # 2. The same source with birth_date as a month string would break readers of the registered subject.
    bad_policy = tmp_path / "bad.yaml"
    full_policy_writer("month")(bad_policy, dep.source_topic, dep.output_topic)
    code, output = lint(bad_policy, live_settings)
    assert code == 1, output
    assert "not backward compatible" in output and "birth_date" in output

    with deployed_worker(live_settings, tmp_path, full_policy_writer("month"), uid=uid, keys=keys) as refused:  # type: ignore[arg-type]
        assert refused.process is not None
        deadline = time.monotonic() + 60
        while refused.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert refused.process.returncode == 2, refused.log_text()[-2000:]
        log = refused.log_text()
        assert b"refusing_to_start" in log and b"incompatible_output" in log


def test_policy_lint_against_the_registry_flags_uncovered_fields(live_settings: Settings, tmp_path: Path) -> None:
    """The repository's schemas registered under a unique subject; the fail-closed test policy leaves
    updated_at uncovered, which lint reports (exit 1) with the field name; --json is machine-readable."""
    from confluent_kafka.schema_registry import Schema

    topic = f"lint.{uuid.uuid4().hex[:8]}.contacts"
    client = registry_client(live_settings.connection)
    for part in ("key", "value"):
        text = (REPO_ROOT / "schemas" / "debezium" / f"crm.public.contacts-{part}.avsc").read_text()
        client.register_schema(f"{topic}-{part}", Schema(text, "AVRO"))
    policy = tmp_path / "p.yaml"
    base = yaml.safe_load((REPO_ROOT / "tests" / "policies" / "crm-fail-closed.yaml").read_text())
    contacts = next(s for s in base["sources"] if s["name"] == "contacts")
    contacts.update(topic=topic, output_topic=f"anon.{topic}")
    base["sources"] = [contacts]
    policy.write_text(yaml.safe_dump(base, sort_keys=False))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "policy",
            "lint",
            str(policy),
            "--registry",
            live_settings.connection.registry_url,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    import json

    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert any(f["code"] == "uncovered" and f["path"] == "updated_at" for f in report["findings"])
