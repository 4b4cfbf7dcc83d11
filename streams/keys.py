"""Key material from configuration. Keys are never logged; only their ids appear anywhere."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from pydantic import SecretStr

MIN_KEY_BYTES = 32


def parse_key(secret: SecretStr, what: str) -> bytes:
    """Decode a hex or base64 key; the error says what is wrong, never the key."""
    text = secret.get_secret_value().strip()
    if not text:
        raise ValueError(f"{what} is not configured")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{what} must be hex or base64") from None
    if len(raw) < MIN_KEY_BYTES:
        raise ValueError(f"{what} must be at least {MIN_KEY_BYTES} bytes (got {len(raw)})")
    return raw


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Named keys; ``active`` is the id used when a rule names none."""

    keys: dict[str, bytes] = field(repr=False)
    active: str

    def get(self, key_id: str | None) -> tuple[str, bytes]:
        chosen = key_id or self.active
        if chosen not in self.keys:
            raise KeyError(f"unknown key id {chosen!r}")
        return chosen, self.keys[chosen]
