from __future__ import annotations

import hmac
import re
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.transforms.base import BatchContext
from streams.transforms.tokenize import Tokenize, canonical_bytes, derive_scope_key

from ..support import OTHER_KEY, TEST_KEY, TEST_KEY_ID

TOKEN_RE = re.compile(r"^tok_(?P<key>[A-Za-z0-9]+)_(?P<digest>[0-9a-f]{32})$")  # 128 bits of HMAC, hex


def make(scope: str = "email", key: bytes = TEST_KEY, key_id: str = TEST_KEY_ID, normalize: str = "none") -> Tokenize:
    return Tokenize(key, key_id, scope, normalize)


def test_same_key_and_scope_is_deterministic_across_instances() -> None:
    a, b = make(), make()
    assert a.token("ada@example.com") == b.token("ada@example.com")
    assert a.apply(["x1", "x2", "x1"], BatchContext()) == [a.token("x1"), a.token("x2"), a.token("x1")]


def test_different_values_give_different_tokens() -> None:
    t = make()
    tokens = {t.token(f"user{i}@example.com") for i in range(200)}
    assert len(tokens) == 200


def test_scopes_are_unlinkable() -> None:
    assert make("email").token("ada@example.com") != make("contact").token("ada@example.com")
    assert derive_scope_key(TEST_KEY, "email") != derive_scope_key(TEST_KEY, "contact")


def test_keys_are_unlinkable() -> None:
    assert make(key=TEST_KEY).token("ada@example.com") != make(key=OTHER_KEY).token("ada@example.com")


def test_token_format_names_the_key_id() -> None:
    token = make(key_id="k7").token("ada@example.com")
    match = TOKEN_RE.match(token)
    assert match is not None, token
    assert match["key"] == "k7"
    assert len(match["digest"]) == 32
    assert token.startswith("tok_k7_")


def test_token_is_known_answer_stable() -> None:
    """Guards the derivation (HKDF info string, HMAC, truncation, hex): changing it breaks joins downstream."""
    scope_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crm-anonymizer/tokenize/v1/email").derive(
        TEST_KEY
    )
    assert derive_scope_key(TEST_KEY, "email") == scope_key
    digest = hmac.new(scope_key, b"ada@example.com", sha256).digest()[:16]
    assert make().token("ada@example.com") == "tok_" + TEST_KEY_ID + "_" + digest.hex()


def test_ints_are_tokenized_like_their_decimal_text() -> None:
    t = make("contact")
    assert t.token(1001) == t.token("1001")
    assert t.token(1001) != t.token(1002)
    assert canonical_bytes(-5, "none") == b"-5"


def test_bytes_are_tokenized() -> None:
    t = make()
    assert TOKEN_RE.match(t.token(b"\x00\x01"))
    assert t.token(b"abc") == t.token(bytearray(b"abc"))


@pytest.mark.parametrize("value", [True, False])
def test_bool_is_rejected_not_tokenized_as_int(value: bool) -> None:
    with pytest.raises(AnonymizationError) as info:
        make().token(value)
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "bool" in info.value.detail
    assert str(value) not in str(info.value)


@pytest.mark.parametrize("value", [1.5, None, ["a"], {"a": 1}])
def test_other_types_are_rejected(value: object) -> None:
    with pytest.raises(AnonymizationError) as info:
        make().apply([value], BatchContext())
    assert info.value.code is ReasonCode.WRONG_TYPE


def test_normalize_lower_folds_case_and_whitespace() -> None:
    t = make(normalize="lower")
    assert t.token("  Ada@Example.COM ") == t.token("ada@example.com")
    raw = make(normalize="none")
    assert raw.token("Ada@Example.COM") != raw.token("ada@example.com")


@pytest.mark.parametrize("avro_type", ["string", "long", "int", "bytes", {"type": "fixed", "name": "F", "size": 4}])
def test_output_type_is_string(avro_type: object) -> None:
    assert make().output_type(avro_type, "f") == "string"


@pytest.mark.parametrize("avro_type", ["double", "float", "boolean", {"type": "array", "items": "string"}])
def test_type_check_refuses_unfit_types(avro_type: object) -> None:
    with pytest.raises(PolicyError) as info:
        make().output_type(avro_type, "contacts.score")
    assert "contacts.score" in str(info.value)
    assert "tokenize" in str(info.value)


def test_short_master_key_is_refused() -> None:
    with pytest.raises(ValueError, match="128 bits"):
        Tokenize(b"short", "k", "s")


def test_label_names_scope_and_key_id_but_not_key() -> None:
    t = make("email")
    assert t.label == f"tokenize(scope=email,key={TEST_KEY_ID})"
    assert TEST_KEY.hex() not in t.label


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_token_never_returns_or_contains_the_input(text: str) -> None:
    t = make()
    token = t.token(text)
    assert token != text
    assert TOKEN_RE.match(token)
    prefix = f"tok_{TEST_KEY_ID}_"  # public, not derived from the input
    if len(text) >= 6 and text not in prefix:
        assert text not in token


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_long_tokens_never_contain_the_number(number: int) -> None:
    token = make("contact").token(number)
    digest = TOKEN_RE.match(token)
    assert digest is not None
    if abs(number) >= 10**9:  # shorter digit runs can occur in 32 hex characters by chance
        assert str(abs(number)) not in token
