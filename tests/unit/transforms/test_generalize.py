from __future__ import annotations

import datetime as dt

import pytest

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.transforms.base import BatchContext
from streams.transforms.generalize import Generalize

DEBEZIUM_DATE = {"type": "int", "connect.version": 1, "connect.name": "io.debezium.time.Date"}
MICRO_TS = {"type": "long", "connect.version": 1, "connect.name": "io.debezium.time.MicroTimestamp"}
MILLIS_TS = {"type": "long", "connect.name": "io.debezium.time.Timestamp"}
AVRO_DATE = {"type": "int", "logicalType": "date"}
AVRO_TS_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}
ZONED = {"type": "string", "connect.name": "io.debezium.time.ZonedTimestamp"}

DAYS_1987_04_15 = (dt.date(1987, 4, 15) - dt.date(1970, 1, 1)).days


def run(g: Generalize, avro_type: object, values: list[object]) -> list[object]:
    g.output_type(avro_type, "f")
    return g.bind(avro_type).apply(values, BatchContext())


@pytest.mark.parametrize(
    ("to", "expected", "out_type"),
    [("year", 1987, "int"), ("quarter", "1987-Q2", "string"), ("month", "1987-04", "string")],
)
def test_debezium_date_days(to: str, expected: object, out_type: str) -> None:
    g = Generalize(to=to)
    assert g.output_type(DEBEZIUM_DATE, "birth_date") == out_type
    assert run(g, DEBEZIUM_DATE, [DAYS_1987_04_15]) == [expected]


def test_quarters_boundaries() -> None:
    g = Generalize(to="quarter")
    days = [(dt.date(2024, m, 1) - dt.date(1970, 1, 1)).days for m in (1, 3, 4, 6, 7, 9, 10, 12)]
    assert run(g, DEBEZIUM_DATE, days) == [
        "2024-Q1",
        "2024-Q1",
        "2024-Q2",
        "2024-Q2",
        "2024-Q3",
        "2024-Q3",
        "2024-Q4",
        "2024-Q4",
    ]


def test_dates_before_epoch() -> None:
    assert run(Generalize(to="year"), DEBEZIUM_DATE, [-1]) == [1969]


def test_micro_timestamp_long() -> None:
    micros = int(dt.datetime(2025, 10, 9, 8, 53, tzinfo=dt.UTC).timestamp() * 1_000_000)
    assert run(Generalize(to="month"), MICRO_TS, [micros]) == ["2025-10"]
    assert run(Generalize(to="year"), MICRO_TS, [micros]) == [2025]


def test_millis_timestamp_long() -> None:
    millis = int(dt.datetime(2001, 2, 3, tzinfo=dt.UTC).timestamp() * 1000)
    assert run(Generalize(to="quarter"), MILLIS_TS, [millis]) == ["2001-Q1"]


def test_avro_logical_date_as_decoded_by_fastavro() -> None:
    g = Generalize(to="month")
    assert g.output_type(AVRO_DATE, "d") == "string"
    assert run(g, AVRO_DATE, [dt.date(1999, 12, 31)]) == ["1999-12"]


def test_avro_logical_timestamp_as_datetime() -> None:
    value = dt.datetime(2020, 8, 1, 12, 0, tzinfo=dt.UTC)
    assert run(Generalize(to="quarter"), AVRO_TS_MILLIS, [value]) == ["2020-Q3"]


def test_zoned_timestamp_string() -> None:
    assert run(Generalize(to="year"), ZONED, ["2021-06-30T23:59:59Z"]) == [2021]


def test_bad_iso_string_is_wrong_type_without_value() -> None:
    with pytest.raises(AnonymizationError) as info:
        run(Generalize(to="year"), ZONED, ["CANARY-not-a-date"])
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "CANARY" not in str(info.value)


def test_string_for_numeric_date_is_wrong_type() -> None:
    with pytest.raises(AnonymizationError) as info:
        run(Generalize(to="year"), DEBEZIUM_DATE, ["1990-01-01"])
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "1990" not in str(info.value)


def test_bool_for_date_is_wrong_type() -> None:
    with pytest.raises(AnonymizationError) as info:
        run(Generalize(to="year"), DEBEZIUM_DATE, [True])
    assert info.value.code is ReasonCode.WRONG_TYPE


def test_bucket_width_int() -> None:
    g = Generalize(bucket_width=50)
    assert g.output_type("int", "employee_count") == "int"
    out = run(g, "int", [0, 49, 50, 123, -1])
    assert out == [0, 0, 50, 100, -50]
    assert all(type(v) is int for v in out)


def test_bucket_width_double() -> None:
    g = Generalize(bucket_width=1000)
    assert g.output_type("double", "lifetime_value") == "double"
    out = run(g, "double", [12345.67, 999.99, 0.0, 250000.0])
    assert out == [12000.0, 0.0, 0.0, 250000.0]
    assert all(type(v) is float for v in out)


def test_bucket_width_fractional() -> None:
    assert run(Generalize(bucket_width=0.5), "double", [1.74, 1.25]) == [1.5, 1.0]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "12", True])
def test_bucket_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(AnonymizationError) as info:
        run(Generalize(bucket_width=10), "double", [bad])
    assert info.value.code is ReasonCode.WRONG_TYPE


def test_prefix_length() -> None:
    g = Generalize(prefix_length=3)
    assert g.output_type(["null", "string"][1], "postal_code") == "string"
    assert run(g, "string", ["94107", "SW1Y 4JH", "AB"]) == ["941", "SW1", "AB"]


def test_prefix_rejects_non_string() -> None:
    with pytest.raises(AnonymizationError) as info:
        run(Generalize(prefix_length=3), "string", [94107])
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "94107" not in str(info.value)


@pytest.mark.parametrize(
    ("g", "avro_type"),
    [
        (Generalize(to="year"), "string"),  # plain string: no date semantics
        (Generalize(to="year"), "long"),  # plain long: no time unit
        (Generalize(to="month"), "double"),
        (Generalize(bucket_width=10), "string"),
        (Generalize(bucket_width=10), DEBEZIUM_DATE),  # a date is not a plain number
        (Generalize(prefix_length=2), "long"),
        (Generalize(prefix_length=2), ZONED),
        (Generalize(to="year"), "boolean"),
        (Generalize(bucket_width=1), "bytes"),
    ],
)
def test_unfit_types_are_policy_errors_naming_the_field(g: Generalize, avro_type: object) -> None:
    with pytest.raises(PolicyError) as info:
        g.output_type(avro_type, "contacts.some_field")
    assert "contacts.some_field" in str(info.value)


def test_labels() -> None:
    assert Generalize(to="year").label == "generalize(to=year)"
    assert Generalize(bucket_width=1000.0).label == "generalize(bucket_width=1000)"
    assert Generalize(prefix_length=3).label == "generalize(prefix_length=3)"


def test_bind_returns_a_copy_and_leaves_the_template_unbound() -> None:
    g = Generalize(to="year")
    bound = g.bind(DEBEZIUM_DATE)
    assert bound is not g
    assert bound.apply([DAYS_1987_04_15], BatchContext()) == [1987]
    # the unbound template does not know the unit of stored numbers
    with pytest.raises(AnonymizationError):
        g.apply(["x"], BatchContext())
