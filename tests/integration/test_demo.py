"""`make demo` end to end on a small scale: the demo policy uses every transform, on both envelope kinds."""

from __future__ import annotations

import json

import pytest

from streams.devtools.demo import run_demo
from streams.kafka.config import registry_client
from streams.policy.loader import load_policy
from streams.settings import Settings

pytestmark = pytest.mark.integration

EVERY_TRANSFORM = {
    "keep",
    "nullify",
    "replace",
    "redact",
    "mask",
    "truncate",
    "tokenize",
    "encrypt",
    "generalize",
    "date_shift",
    "laplace",
    "gaussian",
    "randomized_response",
    "scrub_text",
}  # plus drop, which leaves no field behind: checked in the audit trail


def test_demo_uses_every_transform_and_accounts_for_every_event(
    live_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_demo(live_settings, 600, timeout=180)
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0, out[-3000:]
    assert summary["events_in"] == 600
    assert summary["anonymized_out"] + summary["dead_lettered"] == 600
    assert summary["audit_events"] == 600
    assert summary["raw_value_leaks"] == 0 and summary["identifiers_checked"] > 500

    # The independent side: what the registry holds for the outputs names every transform.
    client = registry_client(live_settings.connection)
    docs = ""
    for source in load_policy(live_settings.policy_file).policy.sources:
        docs += client.get_latest_version(f"{source.output_topic}-value").schema.schema_str or ""
    used = {name for name in EVERY_TRANSFORM if f"crm-anonymizer: {name}" in docs}
    assert used == EVERY_TRANSFORM
