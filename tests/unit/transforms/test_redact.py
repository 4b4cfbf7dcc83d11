from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.transforms.base import BatchContext
from streams.transforms.redact import DEFAULT_PLACEHOLDER, Redact, RedactRule
from streams.transforms.registry import FieldRule


def run(avro_type: Any, values: list[Any], placeholder: str = DEFAULT_PLACEHOLDER) -> list[Any]:
    r = Redact(placeholder)
    assert r.output_type(avro_type, "f") == avro_type
    return r.bind(avro_type).apply(values, BatchContext())


@pytest.mark.parametrize(
    ("avro_type", "inputs", "expected"),
    [
        ("string", ["Ada", "secret"], "[REDACTED]"),
        ("int", [5, -1], 0),
        ("long", [2**40], 0),
        ("float", [1.25], 0.0),
        ("double", [3.5], 0.0),
        ("boolean", [True, False], False),
        ("bytes", [b"\x01\x02"], b""),
        ({"type": "fixed", "name": "Hash", "size": 4}, [b"abcd"], b"\x00\x00\x00\x00"),
    ],
)
def test_type_appropriate_placeholders(avro_type: Any, inputs: list[Any], expected: Any) -> None:
    out = run(avro_type, inputs)
    assert out == [expected] * len(inputs)
    assert all(type(o) is type(expected) for o in out)


def test_configurable_string_placeholder() -> None:
    assert run("string", ["x"], placeholder="***") == ["***"]


@pytest.mark.parametrize(
    "avro_type",
    [
        {"type": "int", "connect.name": "io.debezium.time.Date"},
        {"type": "long", "logicalType": "timestamp-millis"},
        {"type": "string", "logicalType": "uuid"},
        {"type": "array", "items": "string"},
        {"type": "enum", "name": "Tier", "symbols": ["A"]},
    ],
)
def test_types_without_a_safe_placeholder_are_policy_errors(avro_type: Any) -> None:
    with pytest.raises(PolicyError) as info:
        Redact().output_type(avro_type, "after.birth_date")
    assert "after.birth_date" in str(info.value)


def test_wrong_typed_input_names_types_only() -> None:
    with pytest.raises(AnonymizationError) as info:
        run("long", ["4111-1111-1111-1111"])
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "4111" not in str(info.value)
    with pytest.raises(AnonymizationError):
        run("int", [True])


def test_rule_and_shorthand() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(FieldRule)
    assert isinstance(adapter.validate_python({"transform": "redact"}), RedactRule)
    rule = adapter.validate_python({"transform": "redact", "placeholder": "<gone>"})
    assert isinstance(rule, RedactRule)
    assert rule.placeholder == "<gone>"
