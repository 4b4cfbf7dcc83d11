"""Dead-letter replay through the real Pipeline (mock registry, memory sink): REPLAYED audits naming the
original position, and a second replay publishes nothing."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from streams.keys import KeyRing
from streams.policy.loader import LoadedPolicy
from streams.processor.pipeline import Pipeline
from streams.replay import LetterFilter, latest_letters, plan_replay, summary_line

from .processor.test_pipeline import AUDIT_TOPIC, DLQ_TOPIC, OUT_CONTACTS, Harness
from .support import CONTACTS_TOPIC, contact_envelope, contact_row


class ReplayHarness(Harness):
    def replaying_pipeline(self) -> Pipeline:
        """The pipeline after the policy fix: ``lifetime_value: drop`` (the rule that refused NaN)."""
        import yaml

        from streams.policy.loader import parse_policy

        from .support import POLICY_FILE

        data = yaml.safe_load(POLICY_FILE.read_text())
        for source in data["sources"]:
            if "lifetime_value" in source["fields"]:
                source["fields"]["lifetime_value"] = "drop"
        fixed = parse_policy(yaml.safe_dump(data, sort_keys=False).encode(), Path("fixed.yaml"))
        original, self.loaded = self.loaded, fixed
        try:
            pipeline = self.make_pipeline(self.registry)
        finally:
            self.loaded = original
        pipeline._published_outcome = "REPLAYED"
        return pipeline


@pytest.fixture
def harness(loaded_policy: LoadedPolicy, keyring: KeyRing) -> ReplayHarness:
    return ReplayHarness(loaded_policy, keyring)


def dead_letter_a_nan(harness: ReplayHarness) -> Any:
    nan = harness.event(
        CONTACTS_TOPIC, {"id": 5}, contact_envelope("c", None, contact_row(id=5, lifetime_value=math.nan))
    )
    good = harness.event(CONTACTS_TOPIC, {"id": 6}, contact_envelope("c", None, contact_row(id=6)))
    harness.process([nan, good])
    return nan


def test_replay_publishes_once_with_a_replayed_audit_naming_the_original_position(harness: ReplayHarness) -> None:
    nan = dead_letter_a_nan(harness)
    letters = latest_letters([x for _, x in harness.letters()], LetterFilter(reason="transform.wrong_type"))
    assert [(x["source_offset"], x["reason_code"]) for x in letters] == [(nan.offset, "transform.wrong_type")]
    assert set(json.loads(summary_line(letters[0]))) == {
        "source_topic",
        "source_partition",
        "source_offset",
        "reason_code",
        "reason_detail",
        "failed_at",
        "sealed",
    }

    plan = plan_replay(letters, harness.audits(), harness.sealer)
    assert [r.offset for r in plan.records] == [nan.offset]
    assert plan.records[0].value == nan.value and plan.records[0].key == nan.key

    pipeline = harness.replaying_pipeline()
    stats = asyncio.run(pipeline.process(plan.records))
    assert (stats.published, stats.dead_lettered) == (1, 0)
    replayed = [a for a in harness.audits() if a["outcome"] == "REPLAYED"]
    assert [(a["source_topic"], a["source_offset"]) for a in replayed] == [(CONTACTS_TOPIC, nan.offset)]
    last_output = harness.sink.on(OUT_CONTACTS)[-1]
    assert dict(last_output.headers)["crm-anonymizer-source-offset"] == str(nan.offset).encode()

    again = plan_replay(letters, harness.audits(), harness.sealer)
    assert again.records == [] and again.already_published == [(CONTACTS_TOPIC, 0, nan.offset)]


def test_filters_by_reason_source_and_time(harness: ReplayHarness) -> None:
    dead_letter_a_nan(harness)
    letters = [x for _, x in harness.letters()]
    now = datetime.now(UTC)
    assert len(latest_letters(letters, LetterFilter(source=CONTACTS_TOPIC, since=now - timedelta(minutes=5)))) == 1
    assert latest_letters(letters, LetterFilter(reason="wire.bad_magic_byte")) == []
    assert latest_letters(letters, LetterFilter(source="other.topic")) == []
    assert latest_letters(letters, LetterFilter(until=now - timedelta(minutes=5))) == []


def test_a_letter_without_payload_or_with_another_key_is_unrecoverable(harness: ReplayHarness) -> None:
    from streams.deadletter import DeadLetterSealer

    dead_letter_a_nan(harness)
    [letter] = [x for _, x in harness.letters()]
    minimal = {**letter, "encrypted_key": None, "encrypted_value": None, "encrypted_headers": None}
    other_key = DeadLetterSealer(b"\x07" * 32, letter["encryption_key_id"])
    plan = plan_replay([minimal], [], harness.sealer)
    assert plan.records == [] and "no sealed payload" in plan.unrecoverable[0]
    plan = plan_replay([letter], [], other_key)
    assert plan.records == [] and "does not open" in plan.unrecoverable[0]
    assert harness.sink.on(DLQ_TOPIC) and harness.sink.on(AUDIT_TOPIC)
