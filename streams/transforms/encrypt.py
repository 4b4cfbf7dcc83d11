"""``encrypt``: reversible encryption for holders of the key (re-identification by an operator, audited).

Parameters: ``mode`` (required): ``deterministic`` or ``randomized``; ``key`` (key id, default: the configured
encryption key, ``CRM_ANON_ENCRYPTION_KEY`` / ``CRM_ANON_ENCRYPTION_KEY_ID``).

- ``deterministic``: AES-SIV (RFC 5297, AES-256 in SIV mode, 512-bit key). The same plaintext in the same field
  under the same key always gives the same ciphertext, so consumers can join and count on it, like
  ``tokenize``, and equality of values is visible.
- ``randomized``: AES-256-GCM with a random 96-bit nonce per value (``os.urandom`` through ``secrets``). Equal
  plaintexts give unrelated ciphertexts: nothing but the length is visible; no joins.

Both modes derive their own key from the configured key with HKDF-SHA256 (info
``crm-anonymizer/encrypt/v1/aes-siv`` and ``.../aes-gcm``), so a 32-byte configured key serves both and the two
modes never share key material.

Privacy meaning: pseudonymisation, not anonymisation. Whoever holds the key can recover every value (that is
the point: ``crm-anonymizer reidentify`` does it for one field of one record and writes a REIDENTIFICATION
audit event). The ciphertext length reveals the plaintext length. Keep the key away from consumers.

Output: an Avro ``string`` token ::

    enc_<m>_<key id>_<base64url(payload), unpadded>

``<m>`` is ``d`` (deterministic; payload = 16-byte SIV tag | ciphertext) or ``r`` (randomized; payload =
12-byte nonce | ciphertext | 16-byte GCM tag). Key ids may use letters, digits, ``.`` and ``-`` (no ``_``, so
the token splits unambiguously). The associated data binds the format version, the mode, the key id and the
field's column path (``email``, ``address.city``; a key field ``key.id`` counts as column ``id`` because the
record key repeats a row column and should encrypt like it): a token moved to another column, or with an edited
header, fails to decrypt.

The plaintext is a typed encoding so decryption restores the original type: ``s`` + UTF-8 for ``string``,
``b`` + the bytes for ``bytes``/``fixed``, ``i`` + 8-byte big-endian two's complement for ``int``/``long``
(fixed width, so ciphertexts of integers do not reveal their magnitude). Example::

    fields:
      email: {transform: encrypt, mode: deterministic}      # -> "enc_d_e1_3q2-7w..."
      phone: {transform: encrypt, mode: randomized, key: e2}
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from streams.avro.types import AvroType, type_label
from streams.errors import AnonymizationError, CrmAnonymizerError, PolicyError, ReasonCode
from streams.transforms.base import BatchContext, Transform, avro_logical, wrong_type
from streams.transforms.rule import BuildContext, RuleBase

TOKEN_PREFIX = "enc"  # noqa: S105 -- a format prefix, not a secret
FORMAT = b"crm-anonymizer/encrypt/v1"
Mode = Literal["deterministic", "randomized"]
MODE_LETTERS: dict[Mode, str] = {"deterministic": "d", "randomized": "r"}
MODES_BY_LETTER: dict[str, Mode] = {letter: mode for mode, letter in MODE_LETTERS.items()}
NONCE_BYTES = 12
TAG_BYTES = 16
MIN_KEY_BYTES = 32
KEY_ID_RE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
_LONG = struct.Struct(">q")


class DecryptionError(CrmAnonymizerError, ValueError):
    """A token cannot be decrypted. Messages name the reason (format, key id, mode), never a value."""


def derive_mode_key(master_key: bytes, mode: str) -> bytes:
    """The AES-SIV (64 bytes) or AES-GCM (32 bytes) key, derived so that the two never share material."""
    if len(master_key) < MIN_KEY_BYTES:
        raise ValueError(f"encryption key must be at least {MIN_KEY_BYTES} bytes")
    siv = mode == "deterministic"
    return HKDF(
        algorithm=hashes.SHA256(),
        length=64 if siv else 32,
        salt=None,
        info=FORMAT + (b"/aes-siv" if siv else b"/aes-gcm"),
    ).derive(master_key)


def column_path(field_path: str) -> str:
    """The path bound into the ciphertext: a record key field ``key.id`` is the column ``id``."""
    return field_path.removeprefix("key.")


def associated_data(letter: str, key_id: str, field_path: str) -> bytes:
    return b"\x00".join((FORMAT, letter.encode(), key_id.encode(), column_path(field_path).encode("utf-8")))


def encode_plaintext(value: object, transform: str = "encrypt") -> bytes:
    """Typed plaintext: one tag byte, then the value; ``decode_plaintext`` restores the type."""
    if isinstance(value, str):
        return b"s" + value.encode("utf-8")
    if isinstance(value, bytes | bytearray):
        return b"b" + bytes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return b"i" + _LONG.pack(value)
        except struct.error:
            raise wrong_type(transform, value, "64-bit long") from None
    raise wrong_type(transform, value, "string, bytes, int or long")


def decode_plaintext(data: bytes) -> str | bytes | int:
    tag, body = data[:1], data[1:]
    if tag == b"s":
        return body.decode("utf-8")
    if tag == b"b":
        return body
    if tag == b"i" and len(body) == _LONG.size:
        value: int = _LONG.unpack(body)[0]
        return value
    raise DecryptionError("decrypted payload has an unknown type tag")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError("token payload is not base64url") from None


class Encrypt(Transform):
    name = "encrypt"
    accepts = frozenset({"string", "bytes", "fixed", "int", "long"})

    def __init__(self, master_key: bytes, key_id: str, mode: Mode, field_path: str | None = None) -> None:
        if mode not in MODE_LETTERS:
            raise ValueError(f"unknown encrypt mode {mode!r}")
        self._master_key = master_key
        mode_key = derive_mode_key(master_key, mode)
        self._aead: AESSIV | AESGCM = AESSIV(mode_key) if mode == "deterministic" else AESGCM(mode_key)
        self.key_id = key_id
        self.mode: Mode = mode
        self.field_path = field_path
        self._letter = MODE_LETTERS[mode]
        self._prefix = f"{TOKEN_PREFIX}_{self._letter}_{key_id}_"

    def __repr__(self) -> str:  # never the key
        return f"Encrypt(mode={self.mode!r}, key_id={self.key_id!r}, field_path={self.field_path!r})"

    @property
    def label(self) -> str:
        return f"encrypt(mode={self.mode},key={self.key_id})"

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        logical = avro_logical(input_type)
        if logical:
            raise PolicyError(
                f"field {path!r}: encrypt does not support the logical type of {type_label(input_type)} ({logical})"
            )
        if not KEY_ID_RE.match(self.key_id):
            raise PolicyError(
                f"field {path!r}: encryption key id {self.key_id!r} may only use letters, digits, '.' and '-'"
            )
        # The compiler calls output_type with the field path just before bind: remember it for the AAD.
        self.field_path = path
        return "string"

    def bind(self, input_type: AvroType) -> Transform:
        return Encrypt(self._master_key, self.key_id, self.mode, self.field_path)

    def encrypt(self, value: object) -> str:
        if self.field_path is None:
            raise AnonymizationError(ReasonCode.TRANSFORM_FAILED, "encrypt is not bound to a field path")
        plaintext = encode_plaintext(value)
        aad = associated_data(self._letter, self.key_id, self.field_path)
        if isinstance(self._aead, AESSIV):
            payload = self._aead.encrypt(plaintext, [aad])
        else:
            nonce = secrets.token_bytes(NONCE_BYTES)
            payload = nonce + self._aead.encrypt(nonce, plaintext, aad)
        return self._prefix + _b64encode(payload)

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        return [self.encrypt(v) for v in values]


def parse_token(token: str) -> tuple[Mode, str, bytes]:
    """(mode, key id, payload) of a token; DecryptionError when it is not an encrypt token."""
    parts = token.split("_", 3)
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
        raise DecryptionError("not an encrypt token (expected enc_<mode>_<key id>_<payload>)")
    _, letter, key_id, body = parts
    mode = MODES_BY_LETTER.get(letter)
    if mode is None:
        raise DecryptionError("unknown encrypt mode letter in token")
    if not KEY_ID_RE.match(key_id):
        raise DecryptionError("malformed key id in token")
    payload = _b64decode(body)
    minimum = TAG_BYTES + 1 if mode == "deterministic" else NONCE_BYTES + TAG_BYTES + 1
    if len(payload) < minimum:
        raise DecryptionError("token payload is too short")
    return mode, key_id, payload


def decrypt(token: str, keys: Mapping[str, bytes], field_path: str) -> str | bytes | int:
    """The original value of an ``encrypt`` token produced for ``field_path`` (``email``, ``key.id``, ...)."""
    mode, key_id, payload = parse_token(token)
    master = keys.get(key_id)
    if master is None:
        raise DecryptionError(f"no key with id {key_id!r} was given")
    try:
        mode_key = derive_mode_key(master, mode)
    except ValueError as exc:
        raise DecryptionError(f"key {key_id!r}: {exc}") from None
    aad = associated_data(MODE_LETTERS[mode], key_id, field_path)
    try:
        if mode == "deterministic":
            plaintext = AESSIV(mode_key).decrypt(payload, [aad])
        else:
            plaintext = AESGCM(mode_key).decrypt(payload[:NONCE_BYTES], payload[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            f"decryption failed: wrong key for id {key_id!r}, wrong field path, or a modified token"
        ) from None
    try:
        return decode_plaintext(plaintext)
    except UnicodeDecodeError:
        raise DecryptionError("decrypted payload is not valid UTF-8") from None


class EncryptRule(RuleBase):
    transform: Literal["encrypt"]
    mode: Mode
    key: str | None = None

    def build(self, ctx: BuildContext) -> Transform:
        key_id, material = ctx.keyring.get(self.key, purpose="encrypt")
        return Encrypt(material, key_id, self.mode)

    def key_refs(self) -> tuple[str | None, ...]:
        return (self.key,)
