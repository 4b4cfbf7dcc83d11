from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.transforms.base import BatchContext
from streams.transforms.registry import FieldRule
from streams.transforms.rule import BuildContext
from streams.transforms.truncate import Truncate, TruncateRule


def test_keeps_the_first_characters() -> None:
    t = Truncate(3)
    assert t.output_type("string", "company") == "string"
    assert t.apply(["Analytical Engines", "Ada", "Al", ""], BatchContext()) == ["Ana", "Ada", "Al", ""]


def test_suffix_only_when_shortened() -> None:
    t = Truncate(3, "…")
    assert t.apply(["Analytical", "Ada"], BatchContext()) == ["Ana…", "Ada"]


def test_counts_code_points() -> None:
    assert Truncate(2).apply(["Zoë Ödön", "日本語"], BatchContext()) == ["Zo", "日本"]


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_output_is_a_prefix_no_longer_than_length(text: str, length: int) -> None:
    (out,) = Truncate(length).apply([text], BatchContext())
    assert text.startswith(out)
    assert len(out) == min(len(text), length)


@pytest.mark.parametrize(
    "avro_type",
    [
        "long",
        "bytes",
        {"type": "string", "logicalType": "uuid"},
        {"type": "string", "connect.name": "io.debezium.time.ZonedTimestamp"},
    ],
)
def test_non_plain_strings_are_policy_errors(avro_type: Any) -> None:
    with pytest.raises(PolicyError) as info:
        Truncate(3).output_type(avro_type, "after.id")
    assert "after.id" in str(info.value)


def test_wrong_typed_input_names_types_only() -> None:
    with pytest.raises(AnonymizationError) as info:
        Truncate(3).apply([987654321], BatchContext())
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "987654321" not in str(info.value)


def test_rule(keyring: KeyRing) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(FieldRule)
    rule = adapter.validate_python({"transform": "truncate", "length": 4, "suffix": "..."})
    assert isinstance(rule, TruncateRule)
    built = rule.build(BuildContext(keyring))
    assert isinstance(built, Truncate)
    assert built.apply(["abcdef"], BatchContext()) == ["abcd..."]
    with pytest.raises(ValidationError):
        adapter.validate_python({"transform": "truncate", "length": 0})
    with pytest.raises(ValidationError):
        adapter.validate_python({"transform": "truncate"})
