from __future__ import annotations

import math

import pytest
from pydantic import TypeAdapter, ValidationError

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.transforms.base import BatchContext
from streams.transforms.laplace import Laplace, LaplaceRule
from streams.transforms.registry import FieldRule
from streams.transforms.rule import BuildContext

from .dp_stats import N, assert_unbiased, assert_variance, distinct_subjects


def bound(avro_type: object, epsilon: float = 1.0, lower: float = 0, upper: float = 100, **kw: object) -> Laplace:
    lap = Laplace(epsilon, lower, upper, **kw)  # type: ignore[arg-type]
    lap.output_type(avro_type, "f")
    out = lap.bind(avro_type)
    assert isinstance(out, Laplace)
    return out


@pytest.mark.parametrize("avro_type", ["int", "long", "float", "double", {"type": "double"}])
def test_output_type_equals_input_type(avro_type: object) -> None:
    base = avro_type["type"] if isinstance(avro_type, dict) else avro_type
    assert Laplace(1.0, 0, 100).output_type(avro_type, "f") == base
    out = bound(avro_type).apply([10, 50, 90] if base in ("int", "long") else [10.0, 50.5, 90.0], BatchContext())
    expected = int if base in ("int", "long") else float
    assert all(type(x) is expected for x in out), out


def test_float_noise_is_unbiased_with_the_configured_scale() -> None:
    lap = bound("double", epsilon=1.0, lower=0, upper=100)  # scale 100 / 1 = 100
    assert lap.scale == 100.0
    out = lap.apply([50.0] * N, distinct_subjects(N))
    sd = lap.scale * math.sqrt(2)  # Laplace(b): variance 2 b^2, kurtosis 6
    assert_unbiased(out, 50.0, sd)
    assert_variance(out, sd**2, kurtosis=6.0)


def test_integer_noise_is_discrete_unbiased_and_has_the_discrete_laplace_variance() -> None:
    lap = bound("long", epsilon=0.5, lower=0, upper=20)  # scale 20 / 0.5 = 40
    out = lap.apply([10] * N, distinct_subjects(N))
    assert all(type(x) is int for x in out)
    alpha = math.exp(-1 / lap.scale)  # P(k) ~ alpha^|k|: variance 2 alpha / (1 - alpha)^2, kurtosis ~6
    variance = 2 * alpha / (1 - alpha) ** 2
    assert_unbiased(out, 10.0, math.sqrt(variance))
    assert_variance(out, variance, kurtosis=6.0)


def test_int_field_output_fits_the_32_bit_range() -> None:
    lap = bound("int", epsilon=1e-3, lower=2**31 - 11, upper=2**31 - 1)  # noise scale 10 000 at the top
    out = lap.apply([2**31 - 1] * 200, BatchContext())
    assert all(-(2**31) <= x <= 2**31 - 1 for x in out)
    assert max(out) == 2**31 - 1  # OpenDP saturates rather than overflowing


def test_inputs_are_clamped_before_noising() -> None:
    # epsilon 1e6 on a range of 100: scale 1e-4, so the integer noise is 0 (P(noise != 0) ~ 2 e^-10000).
    lap = bound("long", epsilon=1e6)
    assert lap.apply([1_000, -5, 42, 100], BatchContext()) == [100, 0, 42, 100]
    flt = bound("double", epsilon=1e6)
    out = flt.apply([1e300, -1e300, 42.0], BatchContext())  # |noise| > 0.01 has probability e^-100
    assert [round(x, 1) for x in out] == [100.0, 0.0, 42.0]


def test_clamp_output_keeps_noisy_values_in_range() -> None:
    lap = bound("double", epsilon=0.05, clamp_output=True)  # scale 2000: most draws cross a bound
    out = lap.apply([50.0] * 500, BatchContext())
    assert all(0.0 <= x <= 100.0 for x in out)
    assert 0.0 in out and 100.0 in out
    ints = bound("int", epsilon=0.05, clamp_output=True).apply([50] * 500, BatchContext())
    assert all(0 <= x <= 100 and type(x) is int for x in ints)


def test_without_clamp_output_noise_leaves_the_range() -> None:
    out = bound("double", epsilon=0.05).apply([50.0] * 500, BatchContext())
    assert min(out) < 0.0 and max(out) > 100.0  # each bound is crossed with probability ~0.49 per draw


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(bad: float) -> None:
    lap = bound("double")
    with pytest.raises(AnonymizationError) as err:
        lap.apply([1.0, bad], BatchContext())
    assert err.value.code == ReasonCode.WRONG_TYPE


@pytest.mark.parametrize(("avro_type", "value"), [("double", "CANARY-7f3a"), ("double", True), ("long", 1.5)])
def test_wrong_types_are_refused_without_the_value(avro_type: str, value: object) -> None:
    with pytest.raises(AnonymizationError) as err:
        bound(avro_type).apply([value], BatchContext())
    assert err.value.code == ReasonCode.WRONG_TYPE
    assert "CANARY" not in str(err.value) and "1.5" not in str(err.value)


def test_double_field_accepts_python_ints() -> None:
    out = bound("double").apply([7], BatchContext())
    assert type(out[0]) is float


def test_epsilon_is_opendp_privacy_map() -> None:
    assert Laplace(0.3, 0, 3.7).epsilon == pytest.approx(0.3)  # the template: configured epsilon
    for avro_type in ("double", "long"):
        lap = bound(avro_type, epsilon=0.3, lower=-7, upper=30)
        assert lap.epsilon == pytest.approx(0.3, rel=1e-9)
        assert lap.delta is None
    assert bound("double", epsilon=0.25, sensitivity=5.0).scale == 20.0


def test_release_cache_same_subject_and_value_get_the_same_output() -> None:
    lap = bound("double")
    first = lap.apply([50.0, 50.0, 50.0, 20.0], BatchContext((b"a", b"a", b"b", b"a")))
    assert first[0] == first[1]  # before and after image of an unchanged field
    assert first[0] != first[2]  # another subject: independent noise
    assert first[0] != first[3]  # another value of the same subject: a new release
    again = lap.apply([20.0, 50.0, 50.0], BatchContext((b"a", b"b", b"a")))
    assert again == [first[3], first[2], first[0]]


def test_release_cache_keys_on_the_clamped_value() -> None:
    lap = bound("long", epsilon=0.01)
    out = lap.apply([150, 900, 100], BatchContext((b"a", b"a", b"a")))  # all clamp to 100
    assert out[0] == out[1] == out[2]


def test_release_cache_different_subjects_get_independent_noise() -> None:
    out = bound("double").apply([50.0] * 300, distinct_subjects(300))
    assert len(set(out)) == 300


def test_without_subjects_every_value_gets_fresh_noise() -> None:
    lap = bound("double")
    assert len(set(lap.apply([50.0] * 100, BatchContext()))) == 100
    keyless = lap.apply([50.0, 50.0], BatchContext((b"", b"")))  # a keyless event: not cached by value alone
    assert keyless[0] != keyless[1]


def test_release_cache_is_bounded() -> None:
    lap = bound("double", release_cache=2)
    a1 = lap.apply([50.0], BatchContext((b"a",)))
    lap.apply([50.0, 50.0], BatchContext((b"b", b"c")))  # evicts a
    assert lap.apply([50.0], BatchContext((b"a",))) != a1


def test_each_bound_field_has_its_own_cache() -> None:
    template = Laplace(1.0, 0, 100)
    one, two = template.bind("double"), template.bind("double")
    ctx = BatchContext((b"a",))
    assert one.apply([50.0], ctx) != two.apply([50.0], ctx)


@pytest.mark.parametrize(
    ("avro_type", "lower", "upper", "sensitivity", "message"),
    [
        ("string", 0, 1, None, "does not fit type string"),
        ("boolean", 0, 1, None, "does not fit type boolean"),
        ({"type": "long", "logicalType": "timestamp-millis"}, 0, 1, None, "needs a plain number"),
        ("int", 0.5, 10, None, "needs integer lower and upper"),
        ("int", 0, 2**40, None, "do not fit the int range"),
        ("long", 0, 10, 2.5, "needs an integer sensitivity"),
    ],
)
def test_unfit_types_are_policy_errors_naming_the_field(
    avro_type: object, lower: float, upper: float, sensitivity: float | None, message: str
) -> None:
    with pytest.raises(PolicyError, match=message) as err:
        Laplace(1.0, lower, upper, sensitivity).output_type(avro_type, "contact.salary")
    assert "contact.salary" in str(err.value)


def test_apply_before_bind_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        Laplace(1.0, 0, 1).apply([0.5], BatchContext())


def test_label_names_the_parameters() -> None:
    assert bound("double", epsilon=0.5, lower=0, upper=10).label == "laplace(epsilon=0.5,lower=0,upper=10)"
    assert bound("long", sensitivity=5, clamp_output=True).label == (
        "laplace(epsilon=1,lower=0,upper=100,sensitivity=5,clamp_output)"
    )


RULES: TypeAdapter[FieldRule] = TypeAdapter(FieldRule)


def test_rule_parses_and_builds(keyring: KeyRing) -> None:
    rule = RULES.validate_python({"transform": "laplace", "epsilon": 0.5, "lower": 0, "upper": 10})
    assert isinstance(rule, LaplaceRule)
    lap = rule.build(BuildContext(keyring=keyring))
    assert isinstance(lap, Laplace)
    assert (lap.epsilon, lap.lower, lap.upper, lap.sensitivity, lap.clamp_output) == (0.5, 0.0, 10.0, 10.0, False)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epsilon": 1, "lower": 5, "upper": 5}, "laplace needs lower < upper"),
        ({"epsilon": 0, "lower": 0, "upper": 1}, "greater than 0"),
        ({"epsilon": float("inf"), "lower": 0, "upper": 1}, "finite"),
        ({"epsilon": 1, "upper": 1}, "lower"),
        ({"epsilon": 1, "lower": 0, "upper": 1, "sensitivity": -1}, "greater than 0"),
        ({"epsilon": 1, "lower": 0, "upper": 1, "scale": 3}, "Extra inputs are not permitted"),
        ({"epsilon": 1, "lower": 0, "upper": 1, "release_cache": -1}, "greater than or equal to 0"),
    ],
)
def test_rule_validation_messages(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RULES.validate_python({"transform": "laplace", **params})


def test_compiled_policy_binds_per_field_and_reports_epsilon(keyring: KeyRing) -> None:
    from streams.policy.compiler import compile_record

    record = {
        "type": "record",
        "name": "Account",
        "fields": [
            {"name": "revenue", "type": ["null", "double"]},
            {"name": "employees", "type": "int"},
        ],
    }
    rules = {
        "revenue": RULES.validate_python({"transform": "laplace", "epsilon": 0.5, "lower": 0, "upper": 1e6}),
        "employees": RULES.validate_python({"transform": "laplace", "epsilon": 1, "lower": 1, "upper": 5000}),
    }
    compiled = compile_record(record, rules, keyring, output_name="anon.Account")
    assert [f["type"] for f in compiled.output_schema["fields"]] == [["null", "double"], "int"]
    assert dict(compiled.epsilon) == {"revenue": pytest.approx(0.5), "employees": pytest.approx(1.0)}
    revenue, employees = (p.transform for p in compiled.plan)
    assert type(revenue.apply([10.0], BatchContext())[0]) is float
    assert type(employees.apply([10], BatchContext())[0]) is int
