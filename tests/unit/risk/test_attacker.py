"""The prosecutor's figures on hand-made populations: deterministic classes, token frequencies, noise."""

from __future__ import annotations

from typing import Any

import pytest

from streams.policy.model import SourcePolicy
from streams.risk.attacker import link
from streams.risk.exposure import rank_matching
from streams.risk.records import SubjectRecord
from streams.transforms.encrypt import Encrypt


def _source(fields: dict[str, Any]) -> SourcePolicy:
    return SourcePolicy(name="s", topic="t", envelope="debezium", output_topic="o", fields=fields)


def _subjects(raw: list[dict[str, Any]], out: list[dict[str, Any]]) -> list[SubjectRecord]:
    return [SubjectRecord(str(i), r, o, dict(o)) for i, (r, o) in enumerate(zip(raw, out, strict=True))]


def test_deterministic_classes_give_one_over_k() -> None:
    raw = [{"country": c} for c in ["US", "US", "US", "DE", "FR"]]
    result = link(_source({"country": "keep"}), _subjects(raw, raw))
    assert result.unique == pytest.approx(2 / 5)  # DE and FR are alone
    assert result.expected_reidentification == pytest.approx((3 * (1 / 3) + 1 + 1) / 5)
    assert result.k_distribution == {"3-4": 3, "1": 2}


def test_dropped_fields_exclude_nobody() -> None:
    raw = [{"city": f"c{i}"} for i in range(4)]
    out = [{"city": None} for _ in range(4)]
    result = link(_source({"city": "drop"}), _subjects(raw, out))
    assert result.unique == 0.0
    assert result.expected_reidentification == pytest.approx(1 / 4)


def test_tokens_are_matched_by_frequency() -> None:
    names = ["smith", "smith", "smith", "jones", "jones", "lee"]
    raw = [{"last": n} for n in names]
    out = [{"last": f"tok-{n}"} for n in names]  # a deterministic token: frequencies kept
    result = link(_source({"last": {"transform": "tokenize", "scope": "name"}}), _subjects(raw, out))
    assert result.fields == {"last": "frequency"}
    assert result.unique == pytest.approx(1 / 6)  # lee: the only value seen once
    assert rank_matching(names) == pytest.approx(1.0)  # every count is distinct: rank matching labels all


def test_randomized_ciphertexts_are_matched_by_length_only() -> None:
    # Few owners: a deterministic ciphertext would split by owner (frequency); a randomized one is fresh each
    # time, so the attacker can only tell the plaintext's length, and must not exclude the target.
    owners = ["ann@crm.example", "ann@crm.example", "bob@crm.example", "christine@crm.example"]
    cipher = Encrypt(bytes(32), "e1", "randomized", "owner")
    raw = [{"owner": o} for o in owners]
    out = [{"owner": cipher.encrypt(o)} for o in owners]
    result = link(_source({"owner": {"transform": "encrypt", "mode": "randomized"}}), _subjects(raw, out))
    assert result.fields == {"owner": "length"}
    assert result.k_distribution == {"3-4": 3, "1": 1}  # ann and bob have equal lengths; christine stands out
    assert result.expected_reidentification == pytest.approx((3 * (1 / 3) + 1) / 4)


def test_deterministic_ciphertexts_show_frequency_and_length() -> None:
    owners = ["ann@crm.example", "bob@crm.example", "christine@crm.example"]  # each seen once
    cipher = Encrypt(bytes(32), "e1", "deterministic", "owner")
    raw = [{"owner": o} for o in owners]
    out = [{"owner": cipher.encrypt(o)} for o in owners]
    result = link(_source({"owner": {"transform": "encrypt", "mode": "deterministic"}}), _subjects(raw, out))
    assert result.fields == {"owner": "frequency, length"}
    assert result.k_distribution == {"2": 2, "1": 1}  # frequencies alone would give k = 3 for everyone


def test_small_noise_is_matched_by_the_nearest_value() -> None:
    raw = [{"v": float(100 * i)} for i in range(50)]
    out = [{"v": 100 * i + 1.0} for i in range(50)]  # noise far below the spacing
    rule = {"transform": "laplace", "epsilon": 1.0, "lower": 0, "upper": 10000}
    result = link(_source({"v": rule}), _subjects(raw, out))
    assert result.expected_reidentification > 0.9


def test_a_suppressed_field_excludes_nobody() -> None:
    raw = [{"country": c} for c in ["US", "DE"]]
    subjects = _subjects(raw, raw)
    for s in subjects:
        s.out["country"] = None
        s.suppressed = frozenset({"country"})
    result = link(_source({"country": "keep"}), subjects)
    assert result.unique == 0.0
    assert result.expected_reidentification == pytest.approx(1 / 2)
