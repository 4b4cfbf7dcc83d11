from __future__ import annotations

import pytest

from streams.errors import PolicyError
from streams.transforms.base import BatchContext
from streams.transforms.keep import Keep


def test_keep_passes_values_and_type_through() -> None:
    values = ["a", 1, None, {"x": 1}]
    out = Keep().apply(values, BatchContext())
    assert out == values
    assert out is not values
    assert Keep().output_type({"type": "enum", "name": "E", "symbols": ["A"]}, "f") == {
        "type": "enum",
        "name": "E",
        "symbols": ["A"],
    }


def test_keep_refuses_unions_of_several_types() -> None:
    with pytest.raises(PolicyError, match="weird"):
        Keep().output_type(["int", "string"], "weird")
