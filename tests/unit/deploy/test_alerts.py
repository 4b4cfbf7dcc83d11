"""The Prometheus alert rules are valid and behave as their unit tests say (promtool, Debian's prometheus)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from streams.settings import REPO_ROOT

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "crm-anonymizer.json"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not on PATH: install Debian's `prometheus` package (apt-get install prometheus)")
    return path


@pytest.mark.parametrize(("command", "target"), [("check", "alerts.yml"), ("test", "alerts.test.yml")])
def test_promtool_rules(command: str, target: str) -> None:
    done = subprocess.run(
        [promtool(), command, "rules", target], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_every_alert_has_a_unit_test() -> None:
    import yaml

    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())
    tested = {case["alertname"] for t in tests["tests"] for case in t["alert_rule_test"] if case.get("exp_alerts")}
    assert alerts == tested


def test_dashboard_queries_use_only_exported_metrics() -> None:
    from streams.metrics import WorkerMetrics

    names = {m.name for m in WorkerMetrics({"t": "s"}).registry.collect()}
    exported = names | {f"{n}_{suffix}" for n in names for suffix in ("total", "bucket", "sum", "count", "info")}
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert panels
    for panel in panels:
        for target in panel["targets"]:
            used = {w for w in _identifiers(target["expr"]) if w.startswith("crm_anon_")}
            assert used and used <= exported, (panel["title"], used - exported)


def _identifiers(expr: str) -> set[str]:
    import re

    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
