from __future__ import annotations

import math
from collections import Counter

import pytest
from pydantic import TypeAdapter, ValidationError

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.transforms.base import BatchContext
from streams.transforms.randomized_response import RandomizedResponse, RandomizedResponseRule, keep_probability
from streams.transforms.registry import FieldRule
from streams.transforms.rule import BuildContext

from .dp_stats import N, assert_rate, distinct_subjects

TIER = {"type": "enum", "name": "Tier", "symbols": ["BRONZE", "SILVER", "GOLD"]}
SEGMENTS = ["smb", "mid_market", "enterprise", "public_sector"]


def bound(avro_type: object, **kw: object) -> RandomizedResponse:
    rr = RandomizedResponse(**kw)  # type: ignore[arg-type]
    rr.output_type(avro_type, "f")
    out = rr.bind(avro_type)
    assert isinstance(out, RandomizedResponse)
    return out


def test_keep_probability_formula() -> None:
    assert keep_probability(math.log(3), 2) == pytest.approx(0.75)
    assert keep_probability(math.log(3), 4) == pytest.approx(0.5)
    assert keep_probability(1000.0, 3) == 1.0  # no overflow


def test_boolean_keep_rate_is_three_quarters_at_ln3() -> None:
    rr = bound("boolean", epsilon=math.log(3))
    assert rr.prob == pytest.approx(0.75)
    values = [True, False] * (N // 2)
    out = rr.apply(values, distinct_subjects(N))
    assert all(type(x) is bool for x in out)
    # Bound: 4.892 * sqrt(0.75 * 0.25 / 20 000) = 0.0150; false-failure rate 1e-6 per check, 3e-6 for all three.
    assert_rate(sum(x == v for x, v in zip(out, values, strict=True)), N, 0.75)
    # Each bit value on its own (10 000 draws each): RR keeps true and false alike.
    assert_rate(sum(x for x, v in zip(out, values, strict=True) if v), N // 2, 0.75)
    assert_rate(sum(not x for x, v in zip(out, values, strict=True) if not v), N // 2, 0.75)


def test_boolean_prob_parameter() -> None:
    rr = bound("boolean", prob=0.9)
    assert rr.epsilon == pytest.approx(math.log(9))
    out = rr.apply([True] * 5_000, BatchContext())
    assert_rate(sum(out), 5_000, 0.9)


def test_categories_keep_rate_and_uniform_others() -> None:
    rr = bound("string", epsilon=math.log(3), categories=SEGMENTS)  # k = 4: prob 3 / (3 + 3) = 0.5
    assert rr.prob == pytest.approx(0.5)
    n = 6_000  # scalar OpenDP calls (~70 us each): fewer draws than for booleans, bounds scale with them
    counts = Counter(rr.apply(["smb"] * n, distinct_subjects(n)))
    assert set(counts) <= set(SEGMENTS)
    assert_rate(counts["smb"], n, 0.5)
    for other in SEGMENTS[1:]:
        assert_rate(counts[other], n, 0.5 / 3)


def test_enum_defaults_to_its_symbols() -> None:
    rr = RandomizedResponse(epsilon=1.0)
    assert rr.output_type(TIER, "account.tier") is TIER
    b = rr.bind(TIER)
    assert isinstance(b, RandomizedResponse)
    assert b.prob == pytest.approx(keep_probability(1.0, 3))
    assert set(b.apply(["GOLD"] * 300, BatchContext())) == {"BRONZE", "SILVER", "GOLD"}


def test_enum_with_a_subset_of_symbols() -> None:
    rr = bound(TIER, prob=0.8, categories=["SILVER", "GOLD"])
    assert rr.epsilon == pytest.approx(math.log(4))
    assert set(rr.apply(["GOLD"] * 200, BatchContext())) == {"SILVER", "GOLD"}
    with pytest.raises(AnonymizationError):
        rr.apply(["BRONZE"], BatchContext())


def test_epsilon_attribute_is_opendp_privacy_map() -> None:
    assert bound("boolean", epsilon=0.7).epsilon == pytest.approx(0.7, rel=1e-9)
    assert bound("string", epsilon=0.7, categories=SEGMENTS).epsilon == pytest.approx(0.7, rel=1e-9)
    prob = bound("string", prob=0.5, categories=SEGMENTS)
    assert prob.epsilon == pytest.approx(math.log(3), rel=1e-9)
    assert RandomizedResponse(prob=0.5, categories=SEGMENTS).epsilon is None  # known once bound to a type


def test_value_outside_categories_is_refused_without_the_value() -> None:
    rr = bound("string", epsilon=1.0, categories=SEGMENTS)
    with pytest.raises(AnonymizationError) as err:
        rr.apply(["smb", "CANARY-SEGMENT-7f3a"], BatchContext())
    assert err.value.code == ReasonCode.WRONG_TYPE
    assert "CANARY" not in str(err.value)


@pytest.mark.parametrize(("avro_type", "value"), [("boolean", 1), ("boolean", "true"), ("string", 3)])
def test_wrong_types_are_refused(avro_type: str, value: object) -> None:
    kw: dict[str, object] = {"categories": SEGMENTS} if avro_type == "string" else {}
    with pytest.raises(AnonymizationError) as err:
        bound(avro_type, epsilon=1.0, **kw).apply([value], BatchContext())
    assert err.value.code == ReasonCode.WRONG_TYPE


def test_release_cache() -> None:
    rr = bound("string", epsilon=0.1, categories=SEGMENTS)
    subjects = distinct_subjects(200)
    first = rr.apply(["smb"] * 200, subjects)
    assert rr.apply(["smb"] * 200, subjects) == first  # re-sent records: the same answers, no majority vote
    assert len(set(first)) > 1  # different subjects: independent draws (all equal has probability < 1e-30)
    flags = bound("boolean", epsilon=0.1)
    pair = flags.apply([True, True, False], BatchContext((b"a", b"a", b"a")))
    assert pair[0] == pair[1]
    assert flags.apply([True], BatchContext((b"a",))) == [pair[0]]


@pytest.mark.parametrize(
    ("avro_type", "kw", "message"),
    [
        ("double", {"epsilon": 1.0}, "does not fit type double"),
        ("int", {"epsilon": 1.0}, "does not fit type int"),
        ("string", {"epsilon": 1.0}, "string field needs categories"),
        ("boolean", {"epsilon": 1.0, "categories": ["a", "b"]}, "boolean field takes no categories"),
        (TIER, {"epsilon": 1.0, "categories": ["GOLD", "PLATINUM"]}, "must be symbols of the enum"),
        ("string", {"prob": 0.25, "categories": SEGMENTS}, "needs 1/4 < prob < 1"),
        ("boolean", {"prob": 0.4}, "needs 1/2 < prob < 1"),
        ("boolean", {"epsilon": 50.0}, "too large"),
    ],
)
def test_unfit_types_and_parameters_are_policy_errors(avro_type: object, kw: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message) as err:
        RandomizedResponse(**kw).output_type(avro_type, "contact.flag")  # type: ignore[arg-type]
    assert "contact.flag" in str(err.value)


def test_label() -> None:
    assert bound("boolean", epsilon=1.0).label == "randomized_response(epsilon=1)"
    assert bound("string", prob=0.6, categories=SEGMENTS).label == "randomized_response(prob=0.6,categories=4)"


RULES: TypeAdapter[FieldRule] = TypeAdapter(FieldRule)


def test_rule_parses_and_builds(keyring: KeyRing) -> None:
    rule = RULES.validate_python({"transform": "randomized_response", "prob": 0.7, "categories": SEGMENTS})
    assert isinstance(rule, RandomizedResponseRule)
    rr = rule.build(BuildContext(keyring=keyring))
    assert isinstance(rr, RandomizedResponse)
    assert rr.categories == tuple(SEGMENTS) and rr.configured_prob == 0.7


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "exactly one of epsilon, prob"),
        ({"epsilon": 1.0, "prob": 0.7}, "exactly one of epsilon, prob"),
        ({"epsilon": 1.0, "categories": ["a", "a"]}, "at least 2 distinct categories"),
        ({"epsilon": 1.0, "categories": ["a"]}, "at least 2 distinct categories"),
        ({"prob": 1.0}, "less than 1"),
        ({"epsilon": 0}, "greater than 0"),
    ],
)
def test_rule_validation_messages(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RULES.validate_python({"transform": "randomized_response", **params})
