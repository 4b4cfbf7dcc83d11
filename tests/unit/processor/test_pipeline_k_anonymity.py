"""Streaming k-anonymity through the pipeline, in memory: outputs, audits, stats and the counts it hands back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from streams.k_anonymity import SUPPRESSED_K, derive_k_key
from streams.keys import KeyRing
from streams.policy.loader import LoadedPolicy
from streams.processor.pipeline import Pipeline

from ..support import CONTACTS_TOPIC, TEST_KEY, contact_envelope, contact_row
from .test_pipeline import OUT_CONTACTS, Harness

K_SECTION = {
    "k": 2,
    "quasi_identifiers": ["city", "birth_date", "created_at"],
    "generalize": {"created_at": {"prefix_length": 4}},  # "2025-10" -> "2025"
}


@pytest.fixture
def harness(loaded_policy: LoadedPolicy, keyring: KeyRing) -> Harness:
    return Harness(loaded_policy, keyring)


def k_policy(loaded: LoadedPolicy) -> LoadedPolicy:
    data = loaded.policy.model_dump(exclude_none=True)
    data["sources"][0]["k_anonymity"] = K_SECTION
    policy = type(loaded.policy).model_validate(data)
    return LoadedPolicy(policy, loaded.content_hash, loaded.path)


def k_pipeline(harness: Harness, loaded: LoadedPolicy) -> Pipeline:
    return harness.make_pipeline(harness.registry, loaded, k_secret=derive_k_key(TEST_KEY))


def create(harness: Harness, contact_id: int, **row: Any) -> Any:
    return harness.event(
        CONTACTS_TOPIC, {"id": contact_id}, contact_envelope("c", None, contact_row(id=contact_id, **row))
    )


def outputs(harness: Harness) -> list[dict[str, Any]]:
    return [harness.decode(s.value)["after"] for s in harness.sink.on(OUT_CONTACTS)]


def test_rare_combinations_go_out_suppressed_and_the_audit_names_the_fields(harness: Harness) -> None:
    pipeline = k_pipeline(harness, k_policy(harness.loaded))
    stats = asyncio.run(pipeline.process([create(harness, n) for n in range(1, 5)]))
    assert stats.published == 4 and stats.dead_lettered == 0  # never held back, never dead-lettered
    got = [(o["city"], o["birth_date"], o["created_at"], o["country"]) for o in outputs(harness)]
    assert got == [(None, None, None, "GB")] * 2 + [("London", 1989, "2025-10", "GB")] * 2
    assert stats.k_suppressed == {"contacts": 2}
    assert stats.k_class_sizes == {"contacts": {0: 1, 1: 1, 2: 2}}
    audits = harness.audits()
    suppressed = {a["path"] for a in audits[0]["field_actions"] if a["action"] == SUPPRESSED_K}
    assert suppressed == {"city", "birth_date", "created_at"}
    assert not any(a["action"] == SUPPRESSED_K for a in audits[3]["field_actions"])
    [changed] = stats.k_counts.values()
    assert len(changed) == 2  # the exact class and the coarser one


def test_a_non_nullable_quasi_identifier_becomes_nullable_in_the_output_schema(harness: Harness) -> None:
    pipeline = k_pipeline(harness, k_policy(harness.loaded))
    asyncio.run(pipeline.process([create(harness, 1)]))
    schema = json.loads(harness.registry.get_latest_version(f"{OUT_CONTACTS}-value").schema.schema_str)
    [row] = [t for t in next(f for f in schema["fields"] if f["name"] == "before")["type"] if t != "null"]
    created = next(f for f in row["fields"] if f["name"] == "created_at")
    assert created["type"][0] == "null" and created["default"] is None  # the input's is a plain long


def test_one_coarser_level_before_suppression(harness: Harness) -> None:
    pipeline = k_pipeline(harness, k_policy(harness.loaded))
    february = 1_740_000_000_000_000  # 2025-02-19
    months = [february + n * 31 * 86_400_000_000 for n in range(4)]  # four months of 2025: classes of one
    stats = asyncio.run(pipeline.process([create(harness, n, created_at=t) for n, t in enumerate(months, 1)]))
    got = [o["created_at"] for o in outputs(harness)]
    assert got[:2] == [None, None] and got[2:] == ["2025", "2025"]  # year class reached 2 others
    assert stats.k_generalized == {"contacts": 2} and stats.k_suppressed == {"contacts": 2}


def test_loaded_counts_carry_over_to_a_new_pipeline(harness: Harness) -> None:
    loaded = k_policy(harness.loaded)
    first = k_pipeline(harness, loaded)
    stats = asyncio.run(first.process([create(harness, 1), create(harness, 2)]))
    restarted = k_pipeline(harness, loaded)  # a restarted worker, given what the first stored
    asyncio.run(restarted.load_counts(stats.k_counts))
    asyncio.run(restarted.process([create(harness, 1), create(harness, 3)]))
    after_restart = outputs(harness)[2:]
    assert after_restart[0]["city"] is None  # subject 1 again: still one of two, not a third
    assert after_restart[1]["city"] == "London"  # subject 3: two others before it
    fresh = k_pipeline(harness, loaded)  # without the stored counts subject 3 would be suppressed
    asyncio.run(fresh.process([create(harness, 3)]))
    assert outputs(harness)[-1]["city"] is None


def test_an_update_counts_its_subject_once_for_both_images(harness: Harness) -> None:
    pipeline = k_pipeline(harness, k_policy(harness.loaded))
    row = contact_row(id=1)
    update = harness.event(CONTACTS_TOPIC, {"id": 1}, contact_envelope("u", row, row))
    stats = asyncio.run(pipeline.process([update]))
    [value] = [harness.decode(s.value) for s in harness.sink.on(OUT_CONTACTS)]
    assert value["before"]["city"] is None and value["after"]["city"] is None
    assert stats.k_class_sizes == {"contacts": {0: 1}}
