from __future__ import annotations

import math

import pytest
from pydantic import TypeAdapter, ValidationError

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.transforms.base import BatchContext
from streams.transforms.gaussian import Gaussian, GaussianRule
from streams.transforms.registry import FieldRule
from streams.transforms.rule import BuildContext

from .dp_stats import N, assert_unbiased, assert_variance, distinct_subjects


def bound(
    avro_type: object, epsilon: float = 1.0, delta: float = 1e-6, lower: float = 0, upper: float = 100, **kw: object
) -> Gaussian:
    g = Gaussian(epsilon, delta, lower, upper, **kw)  # type: ignore[arg-type]
    g.output_type(avro_type, "f")
    out = g.bind(avro_type)
    assert isinstance(out, Gaussian)
    return out


@pytest.mark.parametrize("avro_type", ["int", "long", "float", "double"])
def test_output_type_equals_input_type(avro_type: str) -> None:
    assert Gaussian(1.0, 1e-6, 0, 100).output_type(avro_type, "f") == avro_type
    integer = avro_type in ("int", "long")
    out = bound(avro_type).apply([10, 50] if integer else [10.0, 50.0], BatchContext())
    assert all(type(x) is (int if integer else float) for x in out), out


def test_epsilon_and_delta_come_from_opendp_for_the_configured_budget() -> None:
    g = bound("double", epsilon=1.0, delta=1e-6)
    assert g.epsilon is not None and g.delta is not None
    assert g.epsilon <= 1.0 and g.epsilon == pytest.approx(1.0, rel=1e-6)
    assert g.delta == pytest.approx(1e-6, rel=1e-9)
    # The zCDP analysis is tighter than the classic sigma = sens * sqrt(2 ln(1.25 / delta)) / eps (~530 here).
    assert g.scale is not None and 400 < g.scale < 100 * math.sqrt(2 * math.log(1.25 / 1e-6))
    # Less epsilon or less delta costs more noise.
    assert bound("double", epsilon=0.5).scale > g.scale  # type: ignore[operator]
    assert bound("double", delta=1e-9).scale > g.scale  # type: ignore[operator]


def test_integer_fields_use_the_same_scale() -> None:
    assert bound("long").scale == pytest.approx(bound("double").scale)


def test_float_noise_is_unbiased_with_the_found_scale() -> None:
    g = bound("double", epsilon=1.0, delta=1e-6, lower=0, upper=100)
    assert g.scale is not None
    n = N // 4  # the float Gaussian sampler costs ~90 us per value; the bounds are computed for this n
    out = g.apply([50.0] * n, distinct_subjects(n))
    assert_unbiased(out, 50.0, g.scale)
    assert_variance(out, g.scale**2, kurtosis=3.0)


def test_integer_noise_is_discrete_gaussian() -> None:
    g = bound("int", epsilon=2.0, delta=1e-5, lower=0, upper=30)
    assert g.scale is not None
    out = g.apply([15] * N, distinct_subjects(N))
    assert all(type(x) is int for x in out)
    # For sigma >= 1 the discrete Gaussian's variance equals sigma^2 up to ~e^(-2 pi^2 sigma^2); kurtosis ~3.
    assert_unbiased(out, 15.0, g.scale)
    assert_variance(out, g.scale**2, kurtosis=3.0)


def test_inputs_are_clamped_and_nan_refused() -> None:
    g = bound("long", epsilon=100, delta=1e-6, lower=0, upper=1)  # sigma ~ 0.1: P(noise != 0) ~ 2 e^-50
    assert g.apply([500, -500, 1, 0], BatchContext()) == [1, 0, 1, 0]
    with pytest.raises(AnonymizationError) as err:
        bound("double").apply([math.nan], BatchContext())
    assert err.value.code == ReasonCode.WRONG_TYPE


def test_clamp_output() -> None:
    out = bound("double", epsilon=0.1, clamp_output=True).apply([50.0] * 200, BatchContext())
    assert all(0.0 <= x <= 100.0 for x in out)


def test_release_cache() -> None:
    g = bound("double")
    first = g.apply([50.0, 50.0, 50.0], BatchContext((b"a", b"a", b"b")))
    assert first[0] == first[1] != first[2]
    assert g.apply([50.0], BatchContext((b"b",))) == [first[2]]
    assert len(set(g.apply([50.0] * 100, distinct_subjects(100, b"other-")))) == 100


@pytest.mark.parametrize("avro_type", ["string", "boolean", {"type": "int", "logicalType": "date"}])
def test_unfit_types_are_policy_errors(avro_type: object) -> None:
    with pytest.raises(PolicyError, match=r"account\.revenue"):
        Gaussian(1.0, 1e-6, 0, 1).output_type(avro_type, "account.revenue")


def test_label() -> None:
    assert bound("double", epsilon=1.0, delta=1e-7, lower=0, upper=10).label == (
        "gaussian(epsilon=1,delta=1e-07,lower=0,upper=10)"
    )


RULES: TypeAdapter[FieldRule] = TypeAdapter(FieldRule)


def test_rule_parses_and_builds(keyring: KeyRing) -> None:
    params = {"transform": "gaussian", "epsilon": 1, "delta": 1e-7, "lower": 0, "upper": 10, "sensitivity": 2}
    rule = RULES.validate_python(params)
    assert isinstance(rule, GaussianRule)
    g = rule.build(BuildContext(keyring=keyring))
    assert isinstance(g, Gaussian)
    assert (g.epsilon, g.delta, g.sensitivity) == (1.0, 1e-7, 2.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epsilon": 1, "delta": 1e-6, "lower": 1, "upper": 0}, "gaussian needs lower < upper"),
        ({"epsilon": 1, "delta": 0, "lower": 0, "upper": 1}, "greater than 0"),
        ({"epsilon": 1, "delta": 1, "lower": 0, "upper": 1}, "less than 1"),
        ({"epsilon": 1, "lower": 0, "upper": 1}, "delta"),
        ({"epsilon": -1, "delta": 1e-6, "lower": 0, "upper": 1}, "greater than 0"),
    ],
)
def test_rule_validation_messages(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RULES.validate_python({"transform": "gaussian", **params})
