"""Fail closed on structures: ``keep`` on a record is refused (naming its leaves), and rules below a union of
several types are refused instead of being ignored."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from streams.errors import PolicyError
from streams.keys import KeyRing

from .test_nested_paths import ADDRESS, VALUE_SCHEMA, compile_value, source_for


def test_keep_on_a_record_is_refused_naming_its_leaves(keyring: KeyRing) -> None:
    """The reported leak: ``address: keep`` passed ``address.ssn`` once a writer added it, unreported."""
    rules = "      id: keep\n      address: keep\n      phones: drop\n      attributes: drop\n      contacts: drop\n"
    with pytest.raises(PolicyError) as info:
        compile_value(source_for(rules + "      tags: drop\n"), keyring)
    message = str(info.value)
    assert "'address'" in message
    for leaf in ("address.street: keep", "address.city: keep", "address.zip: keep"):
        assert leaf in message


def test_keep_on_an_array_of_records_is_refused_with_item_paths(keyring: KeyRing) -> None:
    rules = "      id: keep\n      address: drop\n      phones: drop\n      attributes: drop\n      contacts: keep\n"
    with pytest.raises(PolicyError, match=r"contacts\[\]\.email: keep"):
        compile_value(source_for(rules + "      tags: drop\n"), keyring)


def test_keep_on_an_array_of_strings_is_a_leaf(keyring: KeyRing) -> None:
    rules = "      id: keep\n      address: drop\n      phones: keep\n      attributes: keep\n      contacts: drop\n"
    compiled = compile_value(source_for(rules + "      tags: keep\n"), keyring)
    assert ("phones", "keep") in compiled.row.actions


def test_named_leaves_make_a_new_child_an_uncovered_drop(keyring: KeyRing) -> None:
    schema: dict[str, Any] = copy.deepcopy(VALUE_SCHEMA)
    address = schema["fields"][0]["type"][1]["fields"][1]["type"][1]
    assert address["name"] == ADDRESS["name"]
    address["fields"].append({"name": "ssn", "type": ["null", "string"], "default": None})
    rules = (
        "      id: keep\n      address.street: keep\n      address.city: keep\n      address.zip: keep\n"
        "      phones: drop\n      attributes: drop\n      contacts: drop\n      tags: drop\n"
    )
    compiled = compile_value(source_for(rules), keyring, schema)
    assert "address.ssn" in compiled.uncovered
    assert ("address.ssn", "drop") in compiled.row.actions


def test_rules_below_a_union_of_several_types_are_refused(keyring: KeyRing) -> None:
    """The reported fail-open: child rules under [null, record, string] were silently ignored."""
    schema: dict[str, Any] = copy.deepcopy(VALUE_SCHEMA)
    row = schema["fields"][0]["type"][1]
    row["fields"][1]["type"] = ["null", copy.deepcopy(ADDRESS) | {"name": "Address2"}, "string"]
    rules = (
        "      id: keep\n      address.city: keep\n      address.street: drop\n      address.zip: drop\n"
        "      phones: drop\n      attributes: drop\n      contacts: drop\n      tags: drop\n"
    )
    with pytest.raises(PolicyError, match="union of several types"):
        compile_value(source_for(rules), keyring, schema)


MAP_RULES = (
    "      id: keep\n      address: drop\n      phones: drop\n      contacts: drop\n      tags: drop\n"
    "      attributes{}: {transform: tokenize, scope: attr}\n"
)


def run_attributes(keyring: KeyRing, rules: str, attributes: dict[str, str]) -> Any:
    from streams.envelope.registry import compile_source_key

    from .test_nested_paths import KEY_SCHEMA, event, full_row, run

    source = source_for(rules)
    plans = (compile_source_key(source, KEY_SCHEMA, keyring), compile_value(source, keyring))
    [out] = run(plans, event(full_row(attributes=attributes)))
    return out.value["after"]["attributes"]


def test_map_keys_go_through_the_values_rule_by_default(keyring: KeyRing) -> None:
    """The reported leak: ``attrs{}: tokenize`` left ``ada@example.com`` as the key."""
    from .test_nested_paths import token

    out = run_attributes(keyring, MAP_RULES, {"ada@example.com": "vip"})
    assert out == {token("attr", "ada@example.com"): token("attr", "vip")}


def test_map_keys_kept_only_when_the_policy_says_so(keyring: KeyRing) -> None:
    from .test_nested_paths import token

    out = run_attributes(keyring, MAP_RULES + "      attributes{keys}: keep\n", {"tier": "gold"})
    assert out == {"tier": token("attr", "gold")}


def test_map_keys_can_have_their_own_rule(keyring: KeyRing) -> None:
    from .test_nested_paths import token

    rules = MAP_RULES + "      attributes{keys}: {transform: tokenize, scope: attr-key}\n"
    out = run_attributes(keyring, rules, {"ada@example.com": "vip"})
    assert out == {token("attr-key", "ada@example.com"): token("attr", "vip")}


def test_map_keys_cannot_be_dropped(keyring: KeyRing) -> None:
    with pytest.raises(PolicyError, match="cannot be dropped"):
        compile_value(source_for(MAP_RULES + "      attributes{keys}: drop\n"), keyring)


def test_colliding_keys_fail_the_record(keyring: KeyRing) -> None:
    from streams.core import anonymize_batch
    from streams.envelope.registry import compile_source_key
    from streams.errors import AnonymizationError

    from .test_nested_paths import KEY_SCHEMA, event, full_row

    rules = MAP_RULES + "      attributes{keys}: {transform: replace, value: same}\n"
    source = source_for(rules)
    plans = (compile_source_key(source, KEY_SCHEMA, keyring), compile_value(source, keyring))
    [outcome] = anonymize_batch(plans[0], plans[1], [event(full_row(attributes={"a": "1", "b": "2"}))])
    assert isinstance(outcome, AnonymizationError)
    assert "collide" in outcome.detail
