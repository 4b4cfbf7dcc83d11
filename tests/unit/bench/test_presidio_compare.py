"""The Presidio comparison of the benchmark (tests/bench/presidio_compare.py): its recall count on a hand-made
corpus, Presidio's configuration from the policy rule, and a whole run on a small pool."""

from __future__ import annotations

import math
from typing import Any

import pytest

from streams.policy.loader import load_policy
from streams.transforms.scrub_text import ScrubTextRule
from tests.bench.data import decoded_contacts
from tests.bench.presidio_compare import (
    POLICY_FILE,
    Recall,
    compare,
    presidio_analyzer,
    presidio_finder,
    presidio_recognizers,
    recall_table,
)
from tests.unit.transforms.pii_corpus import Note


def note(*parts: tuple[str | None, str]) -> Note:
    built = Note()
    for entity, text in parts:
        if entity is None:
            built.add(text)
        else:
            built.entity(entity, text)
    return built


NIR = "255081416802538"  # a valid French NIR (python-stdnum's example)
CORPUS = [
    note(("PERSON", "Ann"), (None, " wrote from "), ("EMAIL", "ann@example.com"), (None, ".")),
    note((None, "Call "), ("PHONE", "+44 20 7946 0958"), (None, " or "), ("EMAIL", "b@example.org")),
    note((None, "Tax id "), ("NATIONAL_ID", NIR), (None, ", ssn "), ("NATIONAL_ID", "536-90-4399")),
]


def fixed(findings: dict[str, list[tuple[int, int, str]]]) -> Any:
    return lambda text: findings.get(text, [])


def test_recall_counts_only_findings_of_the_same_type_that_cover_the_whole_entity() -> None:
    first, second, third = (n.text for n in CORPUS)
    ours = fixed(
        {
            first: [(0, 3, "PERSON"), (15, 30, "EMAIL")],  # both
            second: [(5, 12, "PHONE")],  # part of the phone only: not found
            third: [(7, 22, "NATIONAL_ID"), (28, 39, "NATIONAL_ID")],
        }
    )
    theirs = fixed(
        {
            first: [(15, 30, "EMAIL")],
            second: [(5, 21, "PHONE"), (25, 38, "PHONE")],  # the email found as a phone: not found
            third: [(28, 39, "NATIONAL_ID")],
        }
    )
    assert CORPUS[1].text[25:38] == "b@example.org"
    table = {r.entity: r for r in recall_table(CORPUS, ours, theirs)}
    assert table == {
        "EMAIL": Recall("EMAIL", 2, 1, 1),  # ours: the second note's email is not found
        "PHONE": Recall("PHONE", 1, 0, 1),
        "NATIONAL_ID": Recall("NATIONAL_ID", 1, 1, 1),
        "NATIONAL_ID:fr_nir": Recall("NATIONAL_ID:fr_nir", 1, 1, None),  # Presidio has no NIR recognizer
        "PERSON": Recall("PERSON", 1, 1, None),  # nor a model-free name recognizer
    }
    assert next(r.entity for r in recall_table(CORPUS, ours, theirs)) == "EMAIL"
    assert table["EMAIL"].result() == {"seeded": 2, "core": 0.5, "presidio": 0.5}
    assert "presidio" not in table["PERSON"].result()


def test_presidio_runs_the_recognizers_the_rule_enables() -> None:
    rule = ScrubTextRule(
        transform="scrub_text", entities=("EMAIL", "PHONE", "NATIONAL_ID"), national_ids=("us_ssn",),
        default_region="DE", phone_regions=("FR", "DE"),
    )  # fmt: skip
    recognizers = presidio_recognizers(rule)
    assert sorted(type(r).__name__ for r in recognizers) == ["EmailRecognizer", "PhoneRecognizer", "UsSsnRecognizer"]
    phone = next(r for r in recognizers if type(r).__name__ == "PhoneRecognizer")
    assert tuple(phone.supported_regions) == ("DE", "FR")


def test_presidio_findings_are_reported_in_our_entity_types() -> None:
    find = presidio_finder(presidio_analyzer(ScrubTextRule(transform="scrub_text")))
    text = "Refund to IBAN DE89370400440532013000 for jo@example.com, login from 192.168.10.7."
    assert {(text[s:e], t) for s, e, t in find(text)} >= {
        ("DE89370400440532013000", "IBAN"),
        ("jo@example.com", "EMAIL"),
        ("192.168.10.7", "IP_ADDRESS"),
    }


def _numbers_only(node: Any) -> bool:
    if isinstance(node, dict):
        return all(_numbers_only(v) for v in node.values())
    return isinstance(node, int | float) and not isinstance(node, bool) and math.isfinite(node)


@pytest.mark.timeout(120)
def test_the_comparison_runs_on_a_small_pool() -> None:
    decoded, truth = decoded_contacts(60)
    comparison = compare(load_policy(POLICY_FILE), decoded, 0.5, truth, corpus_size=30)
    result = comparison.result()
    assert result["core_vs_presidio_like_for_like"] == comparison.core_vs_presidio_like_for_like > 0
    assert result["core_records"] > 0 and result["presidio_records"] > 0
    assert set(result["text_only"]) == {"pool_notes", "pii_corpus"}
    assert _numbers_only(result)
    notes = {row["notes"] for _, v in decoded if v for row in (v["before"], v["after"]) if row}
    pool = result["recall"]["pool_notes"]
    assert set(pool) == {"EMAIL", "PHONE", "PERSON"}
    assert all(r["seeded"] == len(notes) for r in pool.values())
    assert "presidio" not in pool["PERSON"] and "presidio" in pool["EMAIL"]
    assert {"EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS"} <= set(result["recall"]["pii_corpus"])
    comparison.print_report()
