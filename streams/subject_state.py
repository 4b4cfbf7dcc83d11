"""Per-subject privacy state, as the worker stores it: a keyed digest of the subject, and the state as bytes.

The state of one data subject (``streams.transforms.dp_cache``: the releases of its DP fields and its budget
ledger) is one entry of a Faust table, keyed by :func:`state_key`: an HMAC of the source topic and the raw
record key under a key derived from the tokenization key. So the changelog topic on the broker holds neither a
raw key nor an unkeyed hash of one (a dictionary of customer ids would reverse that), and the same subject
maps to the same entry after a restart, a rebalance or a new schema version. Pure: no Faust here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from streams.policy.model import Policy, SourcePolicy

STATE_KEY_INFO = b"crm-anonymizer/subject-state/v1"
FRAME_HEADER = 5  # Confluent framing: magic byte + 4-byte schema id, not part of the key's identity


def derive_state_key(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=STATE_KEY_INFO).derive(master_key)


def state_key(state_secret: bytes, topic: str, record_key: bytes | None) -> bytes | None:
    """The table key of the subject of one record; None for a keyless record (it has no durable state)."""
    if not record_key or len(record_key) <= FRAME_HEADER:
        return None
    material = topic.encode() + b"\0" + record_key[FRAME_HEADER:]
    return hmac.new(state_secret, material, hashlib.sha256).hexdigest()[:40].encode()


def encode_state(state: dict[str, Any]) -> bytes:
    return json.dumps(state, separators=(",", ":"), sort_keys=True).encode()


EMPTY_STATE = encode_state({})


def decode_state(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        return {}
    state = json.loads(raw)
    return state if isinstance(state, dict) else {}


DP_TRANSFORMS = frozenset({"laplace", "gaussian", "randomized_response"})


def needs_subject_state(source: SourcePolicy) -> bool:
    """Whether a source has DP fields, whose releases and budgets are per-subject state."""
    rules = [*source.fields.values(), *source.key.values()]
    return any(getattr(rule, "transform", "") in DP_TRANSFORMS for rule in rules)


def uses_subject_state(policy: Policy) -> bool:
    return any(needs_subject_state(s) for s in policy.sources)
