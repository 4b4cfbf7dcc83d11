"""Streaming k-anonymity, pure: class counts of distinct subjects, suppression, one coarser level, state."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from streams.k_anonymity import GENERALIZED_K, SUPPRESSED_K, ClassCount, KCounts, coarsen
from streams.policy.model import Coarsening, KAnonymity, SourcePolicy

SECRET = b"k" * 32


def source(k: int = 3, generalize: dict[str, Any] | None = None, **fields: Any) -> SourcePolicy:
    rules = {"id": "keep", "city": "keep", "birth_year": "keep", "country": "keep", **fields}
    return SourcePolicy.model_validate(
        {
            "name": "contacts",
            "topic": "t",
            "envelope": "debezium",
            "output_topic": "o",
            "fields": rules,
            "k_anonymity": {"k": k, "quasi_identifiers": ["city", "birth_year"], "generalize": generalize or {}},
        }
    )


def counts(k: int = 3, generalize: dict[str, Any] | None = None) -> KCounts:
    src = source(k, generalize)
    assert src.k_anonymity is not None
    return KCounts(src, src.k_anonymity, SECRET)


def row(city: str | None = "Leeds", year: int | None = 1980) -> dict[str, Any]:
    return {"id": 1, "city": city, "birth_year": year, "country": "GB"}


def subject(n: int) -> bytes:
    return f"subject-{n}".encode()


def test_a_combination_is_suppressed_until_k_other_subjects_have_it() -> None:
    k = counts(k=3)
    outcomes = []
    for n in range(5):
        r = row()
        decision = k.check(r, subject(n))
        outcomes.append((decision.outcome, decision.class_size, r["city"], r["birth_year"], r["country"]))
    assert outcomes == [
        ("suppressed", 0, None, None, "GB"),
        ("suppressed", 1, None, None, "GB"),
        ("suppressed", 2, None, None, "GB"),
        ("published", 3, "Leeds", 1980, "GB"),  # the 4th subject: 3 others went before it
        ("published", 3, "Leeds", 1980, "GB"),
    ]
    suppressed = k.check(row(city="York"), subject(9))
    assert suppressed.notes == (("city", SUPPRESSED_K), ("birth_year", SUPPRESSED_K))


def test_repeats_of_one_subject_never_make_a_combination_common() -> None:
    k = counts(k=2)
    for _ in range(50):
        r = row()
        assert k.check(r, subject(1)).outcome == "suppressed" and r["city"] is None
    assert k.check(row(), subject(2)).class_size == 1
    assert k.check(row(), subject(3)).outcome == "published"


def test_a_keyless_record_is_always_suppressed() -> None:
    k = counts(k=2)
    for n in range(5):
        k.check(row(), subject(n))
    r = row()
    assert k.check(r, b"").outcome == "suppressed" and r["city"] is None


def test_one_coarser_level_is_published_when_the_exact_class_is_small() -> None:
    k = counts(k=2, generalize={"birth_year": {"bucket_width": 10}})
    for n, year in enumerate((1981, 1983, 1985)):  # three exact classes of one, one decade class of three
        k.check(row(year=year), subject(n))
    r = row(year=1987)
    decision = k.check(r, subject(7))
    assert decision.outcome == "generalized" and decision.notes == (("birth_year", GENERALIZED_K),)
    assert r == {"id": 1, "city": "Leeds", "birth_year": 1980, "country": "GB"}
    lonely = row(city="York", year=1987)
    assert k.check(lonely, subject(8)).outcome == "suppressed" and lonely["birth_year"] is None


def test_counts_survive_a_restart_through_snapshot_and_load() -> None:
    first = counts(k=3)
    for n in range(2):
        first.check(row(), subject(n))
    stored = first.take_changes()
    assert len(stored) == 1 and first.take_changes() == {}  # taken once
    restarted = counts(k=3)
    restarted.load(stored)
    assert restarted.check(row(), subject(1)).class_size == 1  # subject 1 is known: not counted again
    assert restarted.check(row(), subject(2)).outcome == "suppressed"
    assert restarted.check(row(), subject(3)).outcome == "published"
    assert ClassCount.decode(restarted.snapshot()[next(iter(stored))]).subjects > 3  # saturated: members dropped
    assert ClassCount.decode(restarted.snapshot()[next(iter(stored))]).members == []


def test_stored_classes_hold_no_value_and_depend_on_the_key() -> None:
    k = counts(k=2)
    k.check(row(city="Canary-Wharf-77", year=1931), b"customer-4242")
    stored = k.take_changes()
    blob = b"".join(stored) + b"".join(stored.values())
    for raw in (b"Canary", b"1931", b"customer-4242", b"4242"):
        assert raw not in blob
    other = KCounts(source(2), source(2).k_anonymity, secrets.token_bytes(32))  # type: ignore[arg-type]
    other.check(row(city="Canary-Wharf-77", year=1931), b"customer-4242")
    assert set(other.take_changes()).isdisjoint(stored)


def test_nested_paths_and_absent_compounds() -> None:
    src = SourcePolicy.model_validate(
        {
            "name": "sfdc",
            "topic": "t",
            "envelope": "salesforce",
            "output_topic": "o",
            "fields": {"MailingAddress.City": "keep"},
            "k_anonymity": {"k": 2, "quasi_identifiers": ["MailingAddress.City"]},
        }
    )
    assert src.k_anonymity is not None
    k = KCounts(src, src.k_anonymity, SECRET)
    body: dict[str, Any] = {"MailingAddress": {"City": "Leeds", "Country": "GB"}}
    assert k.check(body, subject(1)).notes == (("MailingAddress.City", SUPPRESSED_K),)
    assert body == {"MailingAddress": {"City": None, "Country": "GB"}}
    sparse: dict[str, Any] = {"MailingAddress": None}
    assert k.check(sparse, subject(2)).notes == () and sparse == {"MailingAddress": None}


@pytest.mark.parametrize(
    ("value", "level", "expected"),
    [
        ("1987-04", {"prefix_length": 4}, "1987"),
        (1987, {"bucket_width": 10}, 1980),
        (1234.5, {"bucket_width": 1000}, 1000.0),
        (-5, {"bucket_width": 10}, -10),
        (1987, {"prefix_length": 2}, None),  # not a string: suppressed rather than guessed
        ("x", {"bucket_width": 10}, None),
        (float("nan"), {"bucket_width": 10}, None),
        (True, {"bucket_width": 10}, None),
    ],
)
def test_coarsen(value: Any, level: dict[str, Any], expected: Any) -> None:
    result = coarsen(value, Coarsening.model_validate(level))
    assert result == expected and type(result) is type(expected)


def test_policy_refuses_quasi_identifiers_it_cannot_count() -> None:
    with pytest.raises(ValidationError, match="has no rule in fields"):
        SourcePolicy.model_validate({**source().model_dump(), "k_anonymity": {"k": 2, "quasi_identifiers": ["street"]}})
    with pytest.raises(ValidationError, match="is dropped"):
        source(city="drop")
    with pytest.raises(ValidationError, match="not quasi-identifiers"):
        KAnonymity.model_validate({"k": 2, "quasi_identifiers": ["city"], "generalize": {"x": {"prefix_length": 1}}})
    with pytest.raises(ValidationError, match="exactly one"):
        Coarsening.model_validate({"prefix_length": 1, "bucket_width": 2})
    with pytest.raises(ValidationError):
        KAnonymity.model_validate({"k": 1, "quasi_identifiers": ["city"]})


def test_fields_left_out_of_suppress_are_published_in_a_small_class() -> None:
    src = source(k=2)
    assert src.k_anonymity is not None
    config = src.k_anonymity.model_copy(update={"suppress": ["birth_year"]})
    k = KCounts(src, config, SECRET)
    r = row()
    assert k.check(r, subject(1)).notes == (("birth_year", SUPPRESSED_K),)
    assert r["city"] == "Leeds" and r["birth_year"] is None
    with pytest.raises(ValidationError, match="suppress names fields that are not quasi-identifiers"):
        KAnonymity.model_validate({"k": 2, "quasi_identifiers": ["city"], "suppress": ["country"]})
