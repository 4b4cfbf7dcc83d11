from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.policy.compiler import compile_record
from streams.transforms.base import BatchContext
from streams.transforms.encrypt import (
    DecryptionError,
    Encrypt,
    EncryptRule,
    decrypt,
    derive_mode_key,
    encode_plaintext,
    parse_token,
)
from streams.transforms.registry import FieldRule
from streams.transforms.rule import BuildContext

from ..support import TEST_KEY, TEST_KEY_ID

ENC_KEY = bytes(range(40, 72))  # 256-bit configured key: HKDF stretches it to the 512-bit AES-SIV key
ENC_KEY_ID = "e1"
TOKEN_RE = re.compile(r"^enc_(?P<mode>[dr])_(?P<key>[A-Za-z0-9.-]+)_(?P<payload>[A-Za-z0-9_-]+)$")


def bound(mode: Any, avro_type: Any = "string", path: str = "email", key: bytes = ENC_KEY) -> Encrypt:
    e = Encrypt(key, ENC_KEY_ID, mode)
    assert e.output_type(avro_type, path) == "string"
    b = e.bind(avro_type)
    assert isinstance(b, Encrypt)
    return b


def encrypt_keyring() -> KeyRing:
    return KeyRing({TEST_KEY_ID: TEST_KEY, ENC_KEY_ID: ENC_KEY}, TEST_KEY_ID, {"encrypt": ENC_KEY_ID})


@pytest.mark.parametrize("mode", ["deterministic", "randomized"])
def test_token_format(mode: Any) -> None:
    (token,) = bound(mode).apply(["ada@example.com"], BatchContext())
    match = TOKEN_RE.match(token)
    assert match is not None
    assert match["mode"] == mode[0]
    assert match["key"] == ENC_KEY_ID
    payload = base64.urlsafe_b64decode(match["payload"] + "=" * (-len(match["payload"]) % 4))
    overhead = 16 if mode == "deterministic" else 12 + 16
    assert len(payload) == overhead + len(encode_plaintext("ada@example.com"))
    assert parse_token(token)[:2] == (mode, ENC_KEY_ID)


def test_deterministic_is_joinable_and_randomized_is_not() -> None:
    det_a, det_b = bound("deterministic"), bound("deterministic")
    values = ["ada@example.com", "bob@example.com", "ada@example.com"]
    out = det_a.apply(values, BatchContext())
    assert out[0] == out[2] != out[1]
    assert det_b.apply(values, BatchContext()) == out
    rnd = bound("randomized")
    many = rnd.apply(["ada@example.com"] * 50, BatchContext())
    assert len(set(many)) == 50


@pytest.mark.parametrize("mode", ["deterministic", "randomized"])
@pytest.mark.parametrize(
    ("avro_type", "value"),
    [("string", "Zoë 日本"), ("bytes", b"\x00\xff"), ("int", -(2**31)), ("long", 2**63 - 1), ("long", 0)],
)
def test_round_trip_restores_type(mode: Any, avro_type: Any, value: Any) -> None:
    (token,) = bound(mode, avro_type).apply([value], BatchContext())
    out = decrypt(token, {ENC_KEY_ID: ENC_KEY}, "email")
    assert out == value
    assert type(out) is type(value)


def test_int_and_string_of_same_digits_differ() -> None:
    det = bound("deterministic", "long")
    assert det.apply([42], BatchContext()) != bound("deterministic").apply(["42"], BatchContext())


def test_field_path_is_bound() -> None:
    (token,) = bound("deterministic", path="email").apply(["ada@example.com"], BatchContext())
    with pytest.raises(DecryptionError):
        decrypt(token, {ENC_KEY_ID: ENC_KEY}, "phone")
    assert bound("deterministic", path="phone").apply(["ada@example.com"], BatchContext()) != [token]


def test_key_field_encrypts_like_its_row_column() -> None:
    row = bound("deterministic", "long", path="id").apply([7], BatchContext())
    key = bound("deterministic", "long", path="key.id").apply([7], BatchContext())
    assert row == key


def test_modes_use_separate_keys() -> None:
    assert derive_mode_key(ENC_KEY, "deterministic")[:32] != derive_mode_key(ENC_KEY, "randomized")
    assert len(derive_mode_key(ENC_KEY, "deterministic")) == 64


def test_tampered_header_fails() -> None:
    (token,) = bound("deterministic").apply(["x"], BatchContext())
    with pytest.raises(DecryptionError):
        decrypt(token.replace("enc_d_", "enc_r_", 1), {ENC_KEY_ID: ENC_KEY}, "email")


@pytest.mark.parametrize("bad", [True, 1.5, {"a": 1}, 2**64])
def test_wrong_type_names_types_only(bad: Any) -> None:
    with pytest.raises(AnonymizationError) as info:
        bound("randomized").apply([bad], BatchContext())
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert repr(bad) not in info.value.detail


@pytest.mark.parametrize(
    "avro_type",
    ["double", "boolean", {"type": "int", "logicalType": "date"}, {"type": "string", "logicalType": "uuid"}],
)
def test_unsupported_types_are_policy_errors(avro_type: Any) -> None:
    with pytest.raises(PolicyError) as info:
        Encrypt(ENC_KEY, ENC_KEY_ID, "deterministic").output_type(avro_type, "after.score")
    assert "after.score" in str(info.value)


def test_key_id_with_underscore_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="'email'"):
        Encrypt(ENC_KEY, "my_key", "deterministic").output_type("string", "email")


def test_unbound_transform_refuses() -> None:
    with pytest.raises(AnonymizationError) as info:
        Encrypt(ENC_KEY, ENC_KEY_ID, "deterministic").apply(["x"], BatchContext())
    assert info.value.code is ReasonCode.TRANSFORM_FAILED


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        Encrypt(b"short", ENC_KEY_ID, "deterministic")


def test_repr_and_label_hold_no_key() -> None:
    e = bound("deterministic")
    assert ENC_KEY.hex() not in repr(e) + e.label
    assert e.label == "encrypt(mode=deterministic,key=e1)"


def test_rule_uses_the_encrypt_key_purpose() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(FieldRule)
    rule = adapter.validate_python({"transform": "encrypt", "mode": "deterministic"})
    assert isinstance(rule, EncryptRule)
    built = rule.build(BuildContext(encrypt_keyring()))
    assert isinstance(built, Encrypt)
    assert built.key_id == ENC_KEY_ID
    assert rule.key_refs() == (None,)
    with pytest.raises(ValidationError):
        adapter.validate_python({"transform": "encrypt", "mode": "sometimes"})
    with pytest.raises(KeyError, match="encrypt"):
        rule.build(BuildContext(KeyRing({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID)))


def test_compiled_field_is_bound_to_its_path() -> None:
    record = {"type": "record", "name": "C", "fields": [{"name": "email", "type": ["null", "string"]}]}
    rules = {"email": EncryptRule(transform="encrypt", mode="randomized")}
    compiled = compile_record(record, rules, encrypt_keyring(), output_name="anon.C")
    (plan,) = compiled.plan
    assert compiled.output_schema["fields"][0]["type"] == ["null", "string"]
    (token,) = plan.transform.apply(["ada@example.com"], BatchContext())
    assert decrypt(token, {ENC_KEY_ID: ENC_KEY}, "email") == "ada@example.com"
