"""Dead-letter records: a reason code and safe detail in the clear, the raw record only encrypted.

Nothing is lost (an operator holding the dead-letter key can decrypt and replay), and nothing readable
carries an input value. AES-256-GCM with a random 96-bit nonce per field; the source position is bound in as
associated data so a ciphertext cannot be moved to another record unnoticed.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams import __version__
from streams.audit import PolicyRef, SourcePosition, load_schema
from streams.errors import AnonymizationError

DEAD_LETTER_SCHEMA = load_schema("dead_letter_event.avsc")
NONCE_BYTES = 12


class DeadLetterSealer:
    def __init__(self, key: bytes, key_id: str) -> None:
        self._aead = AESGCM(key[:32])
        self.key_id = key_id

    def _associated(self, position: SourcePosition, part: str) -> bytes:
        return f"{position.topic}/{position.partition}/{position.offset}/{part}".encode()

    def seal(self, data: bytes | None, position: SourcePosition, part: str) -> bytes | None:
        if data is None:
            return None
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, self._associated(position, part))

    def open(self, sealed: bytes, position: SourcePosition, part: str) -> bytes:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, self._associated(position, part))

    def record(
        self,
        position: SourcePosition,
        error: AnonymizationError,
        *,
        raw_key: bytes | None,
        raw_value: bytes | None,
        raw_headers: list[tuple[str, bytes]] | None,
        schema_ids: tuple[int | None, int | None] = (None, None),
        policy: PolicyRef | None = None,
    ) -> dict[str, Any]:
        headers_json = json.dumps([[k, v.hex()] for k, v in raw_headers]).encode() if raw_headers else None
        return {
            "event_id": str(uuid.uuid4()),
            "failed_at": int(time.time() * 1000),
            "processor_version": __version__,
            "source_topic": position.topic,
            "source_partition": position.partition,
            "source_offset": position.offset,
            "source_timestamp_ms": position.timestamp_ms,
            "reason_code": str(error.code),
            "reason_detail": error.detail,
            "field": error.field,
            "key_schema_id": schema_ids[0],
            "value_schema_id": schema_ids[1],
            "policy_id": policy.policy_id if policy else None,
            "policy_hash": policy.content_hash if policy else None,
            "encryption_key_id": self.key_id,
            "encrypted_key": self.seal(raw_key, position, "key"),
            "encrypted_value": self.seal(raw_value, position, "value"),
            "encrypted_headers": self.seal(headers_json, position, "headers"),
        }
