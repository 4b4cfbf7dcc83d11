from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from streams.keys import KeyRing, parse_key

KEY = bytes(range(32))


def test_parse_hex_and_base64() -> None:
    assert parse_key(SecretStr(KEY.hex()), "K") == KEY
    assert parse_key(SecretStr(f"  {KEY.hex()}\n"), "K") == KEY
    assert parse_key(SecretStr(base64.b64encode(KEY).decode()), "K") == KEY


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("", "not configured"), ("zz-not-a-key!", "hex or base64"), (bytes(16).hex(), "at least 32 bytes")],
)
def test_bad_keys_are_explained_without_the_key(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_key(SecretStr(text), "CRM_ANON_TOKENIZATION_KEY")
    assert fragment in str(info.value)
    assert "CRM_ANON_TOKENIZATION_KEY" in str(info.value)
    if text:
        assert text not in str(info.value)


def test_keyring() -> None:
    ring = KeyRing({"a": KEY, "b": bytes(32)}, "a")
    assert ring.get(None) == ("a", KEY)
    assert ring.get("b") == ("b", bytes(32))
    with pytest.raises(KeyError, match="nope"):
        ring.get("nope")
    assert KEY.hex() not in repr(ring)
    assert repr(KEY) not in repr(ring)


def test_keyring_purposes() -> None:
    ring = KeyRing({"t1": KEY, "e1": bytes(64)}, "t1", {"encrypt": "e1"})
    assert ring.get(None) == ("t1", KEY)
    assert ring.get(None, "encrypt") == ("e1", bytes(64))
    assert ring.get("t1", "encrypt") == ("t1", KEY)  # an explicit id wins
    with pytest.raises(KeyError, match="no default key configured for sign"):
        ring.get(None, "sign")
    assert ring.has("e1")
    assert not ring.has("e2")


def test_keyring_from_settings() -> None:
    from streams.keys import keyring_from_settings
    from streams.settings import Settings

    token_key, enc_key = bytes(range(32)).hex(), bytes(range(64)).hex()
    plain = keyring_from_settings(Settings(tokenization_key=SecretStr(token_key), tokenization_key_id="t9"))
    assert plain.get(None) == ("t9", bytes(range(32)))
    with pytest.raises(KeyError):
        plain.get(None, "encrypt")
    both = keyring_from_settings(
        Settings(
            tokenization_key=SecretStr(token_key),
            tokenization_key_id="t9",
            encryption_key=SecretStr(enc_key),
            encryption_key_id="e9",
        )
    )
    assert both.get(None, "encrypt") == ("e9", bytes(range(64)))
    assert enc_key not in repr(both)
    with pytest.raises(ValueError, match="CRM_ANON_TOKENIZATION_KEY"):
        keyring_from_settings(Settings(tokenization_key=SecretStr("")))


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ({"encryption_key_id": "k1"}, "CRM_ANON_ENCRYPTION_KEY_ID equals CRM_ANON_TOKENIZATION_KEY_ID"),
        ({"dead_letter_key_id": "e1"}, "CRM_ANON_DEAD_LETTER_KEY_ID equals CRM_ANON_ENCRYPTION_KEY_ID"),
    ],
)
def test_one_key_id_for_two_purposes_is_refused(ids: dict[str, str], message: str) -> None:
    from pydantic import SecretStr

    from streams.errors import ConfigError
    from streams.keys import keyring_from_settings
    from streams.settings import Settings

    key = SecretStr("11" * 32)
    settings = Settings(
        tokenization_key=key,
        tokenization_key_id="k1",
        encryption_key=SecretStr("22" * 32),
        dead_letter_key=key,
        **ids,
    )
    with pytest.raises(ConfigError, match=message):
        keyring_from_settings(settings)
