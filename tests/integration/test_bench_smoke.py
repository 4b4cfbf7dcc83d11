"""The benchmark harness works end to end (tiny sizes). It asserts no speed figure: only that the run finishes
and its last line is the JSON summary with every figure present and numeric."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from typing import Any

import pytest

from streams.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

LEVEL_KEYS = {
    "events_per_s",
    "window_s",
    "drained",
    "counted",
    "startup_s",
    "latency_rate_per_s",
    "latency_achieved_rate_per_s",
    "p50_ms",
    "p99_ms",
    "mean_ms",
    "latency_trend_ms",
    "latency_samples",
    "latency_expected",
    "peak_rss_mb",
}
COMPARISON_KEYS = {
    "core_vs_presidio_like_for_like",
    "core_records_per_s",
    "presidio_records_per_s",
    "core_records",
    "presidio_records",
    "text_only",
    "recall",
}


def _numeric_leaves(node: Any, path: str = "") -> list[str]:
    """Paths of leaves that are not finite numbers (bools do not count as numbers)."""
    if isinstance(node, dict):
        return [bad for key, value in node.items() for bad in _numeric_leaves(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [bad for i, value in enumerate(node) for bad in _numeric_leaves(value, f"{path}[{i}]")]
    if isinstance(node, bool) or not isinstance(node, int | float) or not math.isfinite(node):
        return [f"{path}={node!r}"]
    return []


def test_bench_harness_quick_run_reports_every_figure(live_settings: Settings) -> None:
    missing = [m for m in ("presidio_analyzer", "presidio_anonymizer", "psutil") if importlib.util.find_spec(m) is None]
    assert not missing, f"bench extras not installed ({missing}): pip install -e '.[dev,bench]'"
    argv = [
        sys.executable,
        "-m",
        "tests.bench.run",
        "--quick",
        "--duration",
        "2",
        "--warmup",
        "1",
        "--latency-window",
        "1",
        "--pool",
        "500",
        "--events",
        "5000",
    ]
    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, f"harness failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    lines = proc.stdout.strip().splitlines()
    summary = json.loads(lines[-1])

    assert set(summary["levels"]) == {"L0", "L1", "L2", "P"}
    for level, figures in summary["levels"].items():
        assert LEVEL_KEYS <= set(figures), f"{level} lacks {LEVEL_KEYS - set(figures)}"
    assert "dead_lettered" in summary["levels"]["P"]
    assert set(summary["ratios"]) == {"P/L0", "P/L1", "P/L2"}
    assert COMPARISON_KEYS <= set(summary["core_vs_presidio"])
    assert {"events_prefilled", "pool_events", "duration_s", "warmup_s"} <= set(summary["config"])
    assert _numeric_leaves(summary) == []
    # The table precedes the JSON line.
    assert any(line.startswith("P  crm-anonymizer worker") for line in lines)
