from __future__ import annotations

from typing import Any

import pytest
from fastavro import parse_schema

from streams.errors import AnonymizationError, ReasonCode
from streams.keys import KeyRing
from streams.policy.compiler import compile_record
from streams.policy.model import SourcePolicy
from streams.transforms.base import BatchContext
from streams.transforms.nullify import Nullify, NullifyRule

RECORD: dict[str, Any] = {
    "type": "record",
    "name": "shop.Customer",
    "fields": [
        {"name": "ssn", "type": "string"},
        {"name": "age", "type": ["null", "int"], "default": None},
    ],
}


def run(avro_type: Any, values: list[Any]) -> list[Any]:
    n = Nullify()
    assert n.output_type(avro_type, "f") == avro_type
    return n.bind(avro_type).apply(values, BatchContext())


@pytest.mark.parametrize(
    ("avro_type", "value"),
    [
        ("string", "123-45-6789"),
        ("long", 42),
        ("double", 1.5),
        ("boolean", True),
        ("bytes", b"\x01"),
        ({"type": "enum", "name": "Tier", "symbols": ["GOLD", "SILVER"]}, "GOLD"),
        ({"type": "record", "name": "Addr", "fields": [{"name": "city", "type": "string"}]}, {"city": "Paris"}),
        ({"type": "array", "items": "string"}, ["a"]),
    ],
)
def test_every_value_becomes_null(avro_type: Any, value: Any) -> None:
    assert run(avro_type, [value, value]) == [None, None]


def test_wrong_type_names_types_only() -> None:
    with pytest.raises(AnonymizationError) as info:
        run("long", ["secret-value-123"])
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "secret-value-123" not in str(info.value)
    assert "str" in str(info.value)


def test_compiled_output_is_nullable_even_for_required_fields(keyring: KeyRing) -> None:
    rules = {"ssn": NullifyRule(transform="nullify"), "age": NullifyRule(transform="nullify")}
    compiled = compile_record(RECORD, rules, keyring, output_name="anon.shop.Customer")
    fields = {f["name"]: f for f in compiled.output_schema["fields"]}
    assert fields["ssn"]["type"] == ["null", "string"]
    assert fields["ssn"]["default"] is None
    assert fields["age"]["type"] == ["null", "int"]
    parse_schema(compiled.output_schema)  # a valid Avro schema
    assert ("ssn", "nullify") in compiled.actions


def test_policy_shorthand() -> None:
    source = SourcePolicy.model_validate(
        {"name": "s", "topic": "t", "envelope": "debezium", "output_topic": "o", "fields": {"ssn": "nullify"}}
    )
    assert isinstance(source.fields["ssn"], NullifyRule)
