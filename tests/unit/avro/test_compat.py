"""Avro backward compatibility (``backward_problems(new, old)``): can a reader on the new schema read old data?"""

from __future__ import annotations

from typing import Any

import pytest

from streams.avro.compat import backward_problems

from ..support import CONTACTS_TOPIC, load_avsc


def record(*fields: dict[str, Any], name: str = "shop.Customer") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


def field(name: str, avro_type: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": avro_type, **extra}


def address(city_type: Any) -> dict[str, Any]:
    return record(field("street", "string"), field("city", city_type), name="shop.Address")


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "shop.Tier", "symbols": list(symbols), **extra}


def test_identical_schemas_are_compatible() -> None:
    schema = record(field("id", "long"), field("email", ["null", "string"], default=None))
    assert backward_problems(schema, schema) == []


def test_identical_debezium_envelope_is_compatible() -> None:
    value = load_avsc(CONTACTS_TOPIC, "value")
    assert backward_problems(value, value) == []


def test_added_field_with_default_is_compatible() -> None:
    old = record(field("id", "long"))
    new = record(field("id", "long"), field("tier", ["null", "string"], default=None))
    assert backward_problems(new, old) == []


def test_added_field_without_default_names_the_field() -> None:
    old = record(field("id", "long"))
    new = record(field("id", "long"), field("tier", "string"))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("tier:")
    assert "default" in problems[0]


def test_removed_field_is_compatible_reader_ignores_it() -> None:
    old = record(field("id", "long"), field("notes", "string"))
    new = record(field("id", "long"))
    assert backward_problems(new, old) == []


def test_type_change_string_to_long_is_a_problem() -> None:
    problems = backward_problems(record(field("code", "long")), record(field("code", "string")))
    assert len(problems) == 1
    assert problems[0].startswith("code:")
    assert "string" in problems[0]
    assert "long" in problems[0]


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    ],
)
def test_promotions_are_compatible(written: str, read: str) -> None:
    assert backward_problems(record(field("n", read)), record(field("n", written))) == []


@pytest.mark.parametrize(
    ("written", "read"),
    [("long", "int"), ("double", "float"), ("double", "long"), ("float", "int"), ("boolean", "string")],
)
def test_narrowing_is_a_problem(written: str, read: str) -> None:
    problems = backward_problems(record(field("n", read)), record(field("n", written)))
    assert len(problems) == 1
    assert problems[0].startswith("n:")


def test_logical_type_on_same_base_type_is_compatible() -> None:
    old = record(field("born", "int"))
    new = record(field("born", {"type": "int", "logicalType": "date"}))
    assert backward_problems(new, old) == []


def test_nullable_widening_is_compatible() -> None:
    old = record(field("email", "string"))
    new = record(field("email", ["null", "string"], default=None))
    assert backward_problems(new, old) == []


def test_nullable_widening_with_promotion_is_compatible() -> None:
    old = record(field("n", "int"))
    new = record(field("n", ["null", "long"], default=None))
    assert backward_problems(new, old) == []


def test_nullable_narrowing_is_a_problem_null_branch_unmatched() -> None:
    old = record(field("email", ["null", "string"], default=None))
    new = record(field("email", "string"))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("email:")
    assert "null" in problems[0]


def test_union_branch_with_no_reader_match_is_a_problem() -> None:
    old = record(field("v", ["null", "string", "long"], default=None))
    new = record(field("v", ["null", "string"], default=None))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("v:")


def test_enum_symbol_removed_is_a_problem() -> None:
    old = record(field("tier", enum("GOLD", "SILVER", "BRONZE")))
    new = record(field("tier", enum("GOLD", "SILVER")))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("tier:")
    assert "BRONZE" in problems[0]


def test_enum_symbol_added_is_compatible() -> None:
    old = record(field("tier", enum("GOLD", "SILVER")))
    new = record(field("tier", enum("GOLD", "SILVER", "BRONZE")))
    assert backward_problems(new, old) == []


def test_enum_symbol_removed_with_reader_default_is_compatible() -> None:
    old = record(field("tier", enum("GOLD", "SILVER", "BRONZE")))
    new = record(field("tier", enum("GOLD", "SILVER", default="SILVER")))
    assert backward_problems(new, old) == []


def test_nested_record_field_change_reported_with_dotted_path() -> None:
    old = record(field("address", address("string")))
    new = record(field("address", address("long")))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("address.city:")


def test_nested_record_new_field_without_default_reported_with_dotted_path() -> None:
    old = record(field("address", address("string")))
    widened = record(field("street", "string"), field("city", "string"), field("zip", "string"), name="shop.Address")
    problems = backward_problems(record(field("address", widened)), old)
    assert len(problems) == 1
    assert problems[0].startswith("address.zip:")


def test_nested_record_change_inside_nullable_union_reported_with_dotted_path() -> None:
    """Row images are ``["null", record]``: a change inside them must still name the nested field.

    Currently the union branch search swallows the nested problem and reports only ``address: written type
    record matches no branch of the new union``, so ``policy lint`` cannot say which field broke.
    """
    old = record(field("address", ["null", address("string")], default=None))
    new = record(field("address", ["null", address("long")], default=None))
    problems = backward_problems(new, old)
    assert problems, "an incompatible nested change must be reported"
    assert any(p.startswith("address.city:") for p in problems), problems


def test_nullable_nested_record_unchanged_is_compatible() -> None:
    schema = record(field("address", ["null", address("string")], default=None))
    assert backward_problems(schema, schema) == []


def test_array_element_change_reported_with_brackets() -> None:
    old = record(field("phones", {"type": "array", "items": "string"}))
    new = record(field("phones", {"type": "array", "items": "long"}))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("phones[]:")


def test_array_element_promotion_is_compatible() -> None:
    old = record(field("scores", {"type": "array", "items": "int"}))
    new = record(field("scores", {"type": "array", "items": ["null", "long"]}))
    assert backward_problems(new, old) == []


def test_array_of_records_field_change_reported_with_path() -> None:
    old = record(field("contacts", {"type": "array", "items": address("string")}))
    new = record(field("contacts", {"type": "array", "items": address("long")}))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("contacts[].city:")


def test_map_value_change_reported_with_braces() -> None:
    old = record(field("attributes", {"type": "map", "values": "string"}))
    new = record(field("attributes", {"type": "map", "values": "long"}))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("attributes{}:")


def test_map_of_nullable_values_narrowed_is_a_problem() -> None:
    old = record(field("attributes", {"type": "map", "values": ["null", "string"]}))
    new = record(field("attributes", {"type": "map", "values": "string"}))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("attributes{}:")


def test_container_kind_change_is_a_problem() -> None:
    old = record(field("phones", {"type": "array", "items": "string"}))
    new = record(field("phones", {"type": "map", "values": "string"}))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("phones:")


def test_fixed_size_change_is_a_problem() -> None:
    old = record(field("digest", {"type": "fixed", "name": "shop.Digest", "size": 16}))
    new = record(field("digest", {"type": "fixed", "name": "shop.Digest", "size": 32}))
    problems = backward_problems(new, old)
    assert len(problems) == 1
    assert problems[0].startswith("digest:")


def test_several_problems_are_all_reported() -> None:
    old = record(field("a", "string"), field("b", "long"))
    new = record(field("a", "long"), field("b", "int"), field("c", "string"))
    problems = backward_problems(new, old)
    assert sorted(p.split(":", 1)[0] for p in problems) == ["a", "b", "c"]


def test_named_type_references_are_resolved() -> None:
    """Schemas that reference a named type defined earlier (as the Debezium ``after`` image does)."""
    old = record(field("home", address("string")), field("work", ["null", "shop.Address"], default=None))
    new = record(field("home", address("string")), field("work", ["null", "shop.Address"], default=None))
    assert backward_problems(new, old) == []
    same_home = record(field("home", address("string")))
    assert backward_problems(same_home, old) == []
