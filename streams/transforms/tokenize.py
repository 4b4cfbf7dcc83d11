"""``tokenize``: keyed HMAC-SHA256 pseudonyms.

Privacy meaning: the same input gives the same token within a scope and key, so downstream systems can join
and count per subject without seeing the identifier. Without the key a token cannot be reversed or recomputed
from a guess (an unkeyed hash of an email can be reversed by hashing a list of emails, which is why no unkeyed
hash is offered). Each scope derives its own key with HKDF, so tokens from different scopes are unlinkable.

Example: ``email: {transform: tokenize, scope: email}`` turns ``ada@example.com`` into
``tok_k1_9f86d081884c7d65...`` (prefix, key id, 32 hex characters = the first 128 bits of the HMAC).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from hashlib import sha256
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field

from streams.avro.types import AvroType
from streams.transforms.base import BatchContext, Transform, wrong_type
from streams.transforms.rule import BuildContext, RuleBase

TOKEN_PREFIX = "tok"  # noqa: S105 -- a format prefix, not a secret


def derive_scope_key(master_key: bytes, scope: str) -> bytes:
    """One independent 256-bit key per scope, so tokens of two scopes cannot be joined."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"crm-anonymizer/tokenize/v1/" + scope.encode()
    ).derive(master_key)


def canonical_bytes(value: object, normalize: str) -> bytes:
    if isinstance(value, str):
        text = value.strip().lower() if normalize == "lower" else value
        return text.encode("utf-8")
    if isinstance(value, bool):
        raise wrong_type("tokenize", value, "string, int, long or bytes")
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    raise wrong_type("tokenize", value, "string, int, long or bytes")


class Tokenize(Transform):
    name = "tokenize"
    accepts = frozenset({"string", "int", "long", "bytes", "fixed"})

    def __init__(self, master_key: bytes, key_id: str, scope: str, normalize: str = "none") -> None:
        if len(master_key) < 16:
            raise ValueError("tokenization key must be at least 128 bits")
        self._mac = hmac.new(derive_scope_key(master_key, scope), digestmod=sha256)
        self.key_id = key_id
        self.scope = scope
        self.normalize = normalize
        self._prefix = f"{TOKEN_PREFIX}_{key_id}_"

    @property
    def label(self) -> str:
        return f"tokenize(scope={self.scope},key={self.key_id})"

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        return "string"

    def token(self, value: object) -> str:
        mac = self._mac.copy()
        mac.update(canonical_bytes(value, self.normalize))
        return self._prefix + mac.digest()[:16].hex()

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        return [self.token(v) for v in values]


class TokenizeRule(RuleBase):
    transform: Literal["tokenize"]
    scope: str = Field("default", pattern=r"^[A-Za-z0-9_.-]+$")
    key: str | None = Field(None, description="Key id; defaults to the active tokenization key.")
    normalize: Literal["none", "lower"] = "none"

    def build(self, ctx: BuildContext) -> Transform:
        key_id, material = ctx.keyring.get(self.key)
        return Tokenize(material, key_id, self.scope, self.normalize)

    def key_refs(self) -> tuple[str | None, ...]:
        return (self.key,)
