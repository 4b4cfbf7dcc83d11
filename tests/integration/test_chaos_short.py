"""The chaos suite's short form inside ``make test``: a few hundred events, one SIGKILL, a 5 s registry stall,
a hostile sample; every position accounted for (``make chaos`` runs the full form)."""

from __future__ import annotations

import json

import pytest

from streams.devtools.chaos import ChaosConfig, run_chaos
from streams.settings import Settings

pytestmark = pytest.mark.integration


def test_short_chaos_loses_nothing_leaks_nothing_and_recovers(live_settings: Settings) -> None:
    config = ChaosConfig(events=400, kills=1, broker_restart=False, registry_stall_s=5.0, hostile=150, timeout_s=300)
    result = run_chaos(live_settings, config)
    print("\n" + json.dumps(result))
    assert result["lost"] == 0
    assert result["raw_value_leaks"] == 0, result["leaks_by_place"]
    assert result["valid_events_dead_lettered"] == 0
    assert result["outputs_without_published_audit"] == 0 == result["dead_lettered_audits_without_letter"]
    assert result["hostile_audited_exactly_once"] == result["events_hostile"] >= 150
    assert result["unexpected_worker_exits"] == 0 and result["processes_left_behind"] == 0
    assert result["duplicates_droppable_by_source_position"]
    assert result["ok"], result
