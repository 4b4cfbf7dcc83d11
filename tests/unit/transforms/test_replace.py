from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import TypeAdapter

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.transforms.base import BatchContext, fits_avro
from streams.transforms.registry import FieldRule
from streams.transforms.replace import Replace, ReplaceRule
from streams.transforms.rule import BuildContext

TIER = {"type": "enum", "name": "Tier", "symbols": ["GOLD", "SILVER"]}


def run(value: Any, avro_type: Any, values: list[Any]) -> list[Any]:
    r = Replace(value)
    assert r.output_type(avro_type, "f") == avro_type
    return r.bind(avro_type).apply(values, BatchContext())


@pytest.mark.parametrize(
    ("value", "avro_type", "inputs", "expected"),
    [
        ("XX", "string", ["GB", "FR"], "XX"),
        (0, "int", [5, -3], 0),
        (7, "long", [2**40], 7),
        (0, "double", [1.5], 0.0),
        (2.5, "float", [1.0], 2.5),
        (False, "boolean", [True], False),
        ("none", "bytes", [b"\x00\x01"], b"none"),
        ("SILVER", TIER, ["GOLD"], "SILVER"),
        (0, {"type": "int", "connect.name": "io.debezium.time.Date"}, [7300], 0),
    ],
)
def test_replaces_every_value(value: Any, avro_type: Any, inputs: list[Any], expected: Any) -> None:
    out = run(value, avro_type, inputs)
    assert out == [expected] * len(inputs)
    assert all(type(o) is type(expected) for o in out)


@pytest.mark.parametrize(
    ("value", "avro_type"),
    [
        (1, "string"),
        ("x", "long"),
        (True, "int"),
        (2**31, "int"),
        (1.5, "long"),
        ("BRONZE", TIER),
        (1, "boolean"),
        ("1", "double"),
    ],
)
def test_constant_must_fit_the_field_type(value: Any, avro_type: Any) -> None:
    with pytest.raises(PolicyError) as info:
        Replace(value).output_type(avro_type, "after.country")
    assert "after.country" in str(info.value)


def test_unsupported_types_are_policy_errors() -> None:
    with pytest.raises(PolicyError, match="'f'"):
        Replace("x").output_type({"type": "array", "items": "string"}, "f")
    with pytest.raises(PolicyError, match="decimal"):
        Replace(0).output_type({"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2}, "f")


def test_wrong_typed_input_names_types_only() -> None:
    with pytest.raises(AnonymizationError) as info:
        run("XX", "string", [12345678])
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "12345678" not in str(info.value)


def test_rule_keeps_yaml_types(keyring: KeyRing) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(FieldRule)
    for raw, expected in ((True, bool), (1, int), (1.5, float), ("1", str)):
        rule = adapter.validate_python({"transform": "replace", "value": raw})
        assert isinstance(rule, ReplaceRule)
        assert type(rule.value) is expected
    rule = adapter.validate_python({"transform": "replace", "value": "XX"})
    transform = rule.build(BuildContext(keyring))
    assert isinstance(transform, Replace)
    assert "XX" not in transform.label


def test_fits_avro_logical_values() -> None:
    assert fits_avro(dt.date(2020, 1, 1), {"type": "int", "logicalType": "date"})
    assert fits_avro(18262, {"type": "int", "logicalType": "date"})
    assert not fits_avro(True, "long")
    assert fits_avro(b"ab", {"type": "fixed", "name": "F", "size": 2})
    assert not fits_avro(b"abc", {"type": "fixed", "name": "F", "size": 2})
