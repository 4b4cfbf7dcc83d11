from __future__ import annotations

from typing import Any

import pytest
from fastavro import parse_schema

from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.build import build_transform
from streams.policy.compiler import anonymized_name, compile_record, record_of
from streams.transforms.drop import DropRule
from streams.transforms.generalize import Generalize, GeneralizeRule
from streams.transforms.keep import Keep, KeepRule
from streams.transforms.mask import Mask, MaskRule
from streams.transforms.tokenize import Tokenize, TokenizeRule

from ..support import TEST_KEY_ID

RECORD: dict[str, Any] = {
    "type": "record",
    "name": "shop.Customer",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "score", "type": "double"},
        {"name": "secret", "type": "string"},
        {"name": "tier", "type": "string"},
    ],
}


def test_build_transform_for_each_rule(keyring: KeyRing) -> None:
    assert build_transform(DropRule(transform="drop"), keyring) is None
    assert isinstance(build_transform(KeepRule(transform="keep"), keyring), Keep)
    assert isinstance(build_transform(MaskRule(transform="mask"), keyring), Mask)
    assert isinstance(build_transform(GeneralizeRule(transform="generalize", prefix_length=2), keyring), Generalize)
    tok = build_transform(TokenizeRule(transform="tokenize", scope="s"), keyring)
    assert isinstance(tok, Tokenize)
    assert tok.key_id == TEST_KEY_ID
    other = build_transform(TokenizeRule(transform="tokenize", scope="s", key="other"), keyring)
    assert isinstance(other, Tokenize)
    assert other.key_id == "other"
    assert other.token("x") != tok.token("x")


def test_unknown_key_id_is_a_policy_error_naming_the_field(keyring: KeyRing) -> None:
    rules = {"id": TokenizeRule(transform="tokenize", scope="s", key="missing")}
    with pytest.raises(PolicyError) as info:
        compile_record(RECORD, rules, keyring, output_name="anon.shop.Customer")
    assert "'id'" in str(info.value)
    assert "missing" in str(info.value)


def test_compile_record_plan_schema_actions_uncovered(keyring: KeyRing) -> None:
    rules = {
        "id": TokenizeRule(transform="tokenize", scope="customer"),
        "email": MaskRule(transform="mask"),
        "score": GeneralizeRule(transform="generalize", bucket_width=10),
        "secret": DropRule(transform="drop"),
    }
    compiled = compile_record(RECORD, rules, keyring, output_name="anon.shop.Customer", path_prefix="row.")
    assert [p.name for p in compiled.plan] == ["id", "email", "score"]
    assert [p.nullable for p in compiled.plan] == [False, True, False]
    out = compiled.output_schema
    assert out["name"] == "anon.shop.Customer"
    by_name = {f["name"]: f for f in out["fields"]}
    assert set(by_name) == {"id", "email", "score"}
    assert by_name["id"]["type"] == "string"
    assert by_name["email"]["type"] == ["null", "string"]
    assert by_name["email"]["default"] is None
    assert "default" not in by_name["id"]
    assert by_name["score"]["type"] == "double"
    assert "tokenize" in by_name["id"]["doc"]
    assert compiled.uncovered == ("row.tier",)
    assert dict(compiled.actions) == {
        "row.id": f"tokenize(scope=customer,key={TEST_KEY_ID})",
        "row.email": "mask(style=auto,first=1,last=0)",
        "row.score": "generalize(bucket_width=10)",
        "row.secret": "drop",
        "row.tier": "drop",
    }
    parse_schema(out)


def test_mask_on_long_names_the_field(keyring: KeyRing) -> None:
    with pytest.raises(PolicyError) as info:
        compile_record(RECORD, {"id": MaskRule(transform="mask")}, keyring, output_name="x.Y", path_prefix="key.")
    assert "key.id" in str(info.value)
    assert "mask" in str(info.value)


def test_multi_type_union_is_refused(keyring: KeyRing) -> None:
    record = {"type": "record", "name": "R", "fields": [{"name": "u", "type": ["null", "int", "string"]}]}
    with pytest.raises(PolicyError, match="'u'"):
        compile_record(record, {"u": KeepRule(transform="keep")}, keyring, output_name="anon.R")


def test_fallback_rules_apply_only_when_rules_do_not_name_the_field(keyring: KeyRing) -> None:
    fallback = {"id": TokenizeRule(transform="tokenize", scope="customer"), "tier": KeepRule(transform="keep")}
    compiled = compile_record(
        RECORD, {"tier": DropRule(transform="drop")}, keyring, output_name="anon.K", fallback_rules=fallback
    )
    assert [p.name for p in compiled.plan] == ["id"]
    assert dict(compiled.actions)["tier"] == "drop"


def test_not_a_record(keyring: KeyRing) -> None:
    with pytest.raises(PolicyError):
        compile_record({"type": "string"}, {}, keyring, output_name="x")
    with pytest.raises(PolicyError, match="what"):
        record_of("string", "what")
    assert record_of(["null", RECORD], "x") is RECORD


def test_anonymized_name() -> None:
    assert anonymized_name("crm.public.contacts.Value") == "anon.crm.public.contacts.Value"
    assert anonymized_name("anon.crm.public.contacts.Value") == "anon.crm.public.contacts.Value"
