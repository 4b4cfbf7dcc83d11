"""Key material from configuration. Keys are never logged; only their ids appear anywhere."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import SecretStr

from streams.errors import ConfigError, UnknownKeyError

if TYPE_CHECKING:
    from streams.settings import Settings

MIN_KEY_BYTES = 32


def parse_key(secret: SecretStr, what: str) -> bytes:
    """Decode a hex or base64 key; the error says what is wrong, never the key."""
    text = secret.get_secret_value().strip()
    if not text:
        raise ConfigError(f"{what} is not configured")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{what} must be hex or base64") from None
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigError(f"{what} must be at least {MIN_KEY_BYTES} bytes (got {len(raw)})")
    return raw


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Named keys. ``active`` is the default tokenization key id; ``defaults`` maps other purposes
    (``encrypt``, ...) to their default key ids. Keys never appear in reprs or messages."""

    keys: dict[str, bytes] = field(repr=False)
    active: str
    defaults: dict[str, str] = field(default_factory=dict)

    def get(self, key_id: str | None, purpose: str = "tokenize") -> tuple[str, bytes]:
        chosen = key_id or (self.active if purpose == "tokenize" else self.defaults.get(purpose, ""))
        if not chosen:
            raise UnknownKeyError(f"no default key configured for {purpose}")
        if chosen not in self.keys:
            raise UnknownKeyError(f"unknown key id {chosen!r}")
        return chosen, self.keys[chosen]

    def has(self, key_id: str) -> bool:
        return key_id in self.keys


def keyring_from_settings(settings: Settings) -> KeyRing:
    """Tokenization key (required) and, when configured, the encryption key; refuses one id for two purposes."""
    check_distinct_key_ids(settings)
    keys = {settings.tokenization_key_id: parse_key(settings.tokenization_key, "CRM_ANON_TOKENIZATION_KEY")}
    defaults: dict[str, str] = {}
    if settings.encryption_key.get_secret_value():
        keys[settings.encryption_key_id] = parse_key(settings.encryption_key, "CRM_ANON_ENCRYPTION_KEY")
        defaults["encrypt"] = settings.encryption_key_id
    return KeyRing(keys, settings.tokenization_key_id, defaults)


def check_distinct_key_ids(settings: Settings) -> None:
    """One key id per purpose: with the tokenization key id equal to the encryption key id, the keyring held
    one key under that id and both purposes used it, silently. The dead-letter key id must differ too."""
    ids = [("CRM_ANON_TOKENIZATION_KEY_ID", settings.tokenization_key_id)]
    if settings.encryption_key.get_secret_value():
        ids.append(("CRM_ANON_ENCRYPTION_KEY_ID", settings.encryption_key_id))
    if settings.dead_letter_key.get_secret_value():
        ids.append(("CRM_ANON_DEAD_LETTER_KEY_ID", settings.dead_letter_key_id))
    seen: dict[str, str] = {}
    for name, key_id in ids:
        if key_id in seen:
            raise ConfigError(f"{name} equals {seen[key_id]}: each key purpose needs its own key id")
        seen[key_id] = name
