"""Streaming k-anonymity: a record goes out with its quasi-identifiers suppressed (or generalized one more
level) until enough other subjects have been published with the same combination. No batch window: the
decision is made as each record passes, from counts of what went before, and nothing is held back.

For a source with a ``k_anonymity`` policy section, every row image (a Debezium ``before``/``after``, a
Salesforce body) is checked after its transforms ran, on the values as they would be published:

1. its combination (the tuple of quasi-identifier values) is counted: the class of the combination gains the
   record's subject, if it is new to the class;
2. if the class held at least ``k`` *other* subjects, the image goes out as it is;
3. else, where the policy gives a coarser level for some quasi-identifiers (``generalize``), the same is done
   for the coarsened combination; if that class is large enough the image goes out coarsened;
4. else every quasi-identifier of the image is set to null (suppressed), or those the policy lists under
   ``suppress`` (a field left out, say a country whose counts must stay exact, is published even in a small
   class: the policy's choice, which the risk evaluation measures).

Audit events name each field suppressed or coarsened (actions ``suppressed(k-anonymity)`` and
``generalized(k-anonymity)``).

Classes count distinct *subjects* (an HMAC digest of the record key), not records: one person updated fifty
times is one member, so repeats never make a combination look common, and reprocessing a batch after a crash
adds nobody twice. Members are remembered only while a class is small (up to ``k + 1``); from then on the class
is saturated and stays publishable. A keyless record has no subject to count: its quasi-identifiers are always
suppressed (fail closed).

Class keys are an HMAC of the source name, the level and the canonical combination, under a key derived from
the tokenization key: the counts table (a Faust table, ``streams.processor.state``) holds no value and no
unkeyed hash of one. Pure: no Faust here; the worker loads the stored counts into a :class:`KCounts` and
persists what :meth:`KCounts.take_changes` returns before it acknowledges a batch.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from streams.policy.model import Coarsening, KAnonymity, Policy, SourcePolicy

K_KEY_INFO = b"crm-anonymizer/k-anonymity/v1"
SUPPRESSED_K = "suppressed(k-anonymity)"
GENERALIZED_K = "generalized(k-anonymity)"
MEMBER_DIGEST_CHARS = 16  # 64 bits: collisions among the k + 1 members of one class are negligible


def derive_k_key(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=K_KEY_INFO).derive(master_key)


def uses_k_anonymity(policy: Policy) -> bool:
    return any(s.k_anonymity is not None for s in policy.sources)


@dataclass(slots=True)
class ClassCount:
    """One class: how many distinct subjects it holds, and who they are while it is small."""

    subjects: int = 0
    members: list[str] = field(default_factory=list)

    def encode(self) -> bytes:
        return json.dumps({"n": self.subjects, "m": self.members}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> ClassCount:
        data = json.loads(raw)
        return cls(int(data.get("n", 0)), [str(m) for m in data.get("m", [])])


@dataclass(frozen=True, slots=True)
class Decision:
    """What happened to one row image: ``class_size`` is the number of other subjects in the class it went out
    in (capped at ``k``), ``notes`` the (field path, reason) of each value suppressed or coarsened."""

    class_size: int
    notes: tuple[tuple[str, str], ...]

    @property
    def outcome(self) -> str:
        if not self.notes:
            return "published"
        return "suppressed" if any(reason == SUPPRESSED_K for _, reason in self.notes) else "generalized"


def _get(row: Mapping[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _set(row: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    target: Any = row
    for part in parts[:-1]:
        target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            return  # the compound field is null as a whole: nothing to suppress under it
    if isinstance(target, dict) and parts[-1] in target:
        target[parts[-1]] = value


def coarsen(value: Any, level: Coarsening) -> Any:
    """``value`` one level coarser, or None where the level does not apply to its type (then suppressed)."""
    if value is None:
        return None
    if level.prefix_length is not None:
        return value[: level.prefix_length] if isinstance(value, str) else None
    if level.bucket_width is not None and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        bucket = math.floor(value / level.bucket_width) * level.bucket_width
        return type(value)(bucket)
    return None


def _canonical(values: Sequence[Any]) -> bytes:
    return json.dumps(list(values), separators=(",", ":"), sort_keys=True, default=repr).encode()


class KCounts:
    """The class counts of one source and the check of its row images (see the module docstring)."""

    def __init__(self, source: SourcePolicy, config: KAnonymity, secret: bytes) -> None:
        self.source = source.name
        self.k = config.k
        self.paths = tuple(config.quasi_identifiers)
        self.levels = dict(config.generalize)
        self.suppressible = tuple(config.suppress or config.quasi_identifiers)
        self._secret = secret
        self._classes: dict[bytes, ClassCount] = {}
        self._changed: set[bytes] = set()

    # -- state --------------------------------------------------------------------------------------------
    def load(self, entries: Mapping[bytes, bytes]) -> None:
        """Replace the counts by stored ones (after a restart or a rebalance)."""
        self._classes = {key: ClassCount.decode(raw) for key, raw in entries.items()}
        self._changed.clear()

    def take_changes(self) -> dict[bytes, bytes]:
        """The classes changed since the last call, encoded: what the caller persists."""
        changes = {key: self._classes[key].encode() for key in self._changed}
        self._changed.clear()
        return changes

    def snapshot(self) -> dict[bytes, bytes]:
        return {key: count.encode() for key, count in self._classes.items()}

    def __len__(self) -> int:
        return len(self._classes)

    # -- the check ----------------------------------------------------------------------------------------
    def _class_key(self, level: str, values: Sequence[Any]) -> bytes:
        material = self.source.encode() + b"\0" + level.encode() + b"\0" + _canonical(values)
        return hmac.new(self._secret, material, hashlib.sha256).hexdigest()[:40].encode()

    def _member(self, subject: bytes) -> str:
        return hmac.new(self._secret, b"member\0" + subject, hashlib.sha256).hexdigest()[:MEMBER_DIGEST_CHARS]

    def _join(self, level: str, values: Sequence[Any], member: str) -> int:
        """Add ``member`` to the class of ``values``; the number of *other* subjects in it (capped at k)."""
        key = self._class_key(level, values)
        count = self._classes.get(key)
        if count is None:
            count = self._classes[key] = ClassCount()
        if count.subjects > self.k:
            return self.k  # saturated: at least k others, whoever this is
        if member in count.members:
            return count.subjects - 1
        count.subjects += 1
        count.members = [] if count.subjects > self.k else [*count.members, member]
        self._changed.add(key)
        return count.subjects - 1

    def check(self, row: dict[str, Any], subject: bytes) -> Decision:
        """Count ``row``'s combination and suppress or coarsen its quasi-identifiers in place if it is rare."""
        if not subject:
            return self._suppress(row, 0)
        member = self._member(subject)
        values = [_get(row, path) for path in self.paths]
        others = self._join("exact", values, member)
        # The coarser class is joined by every image, published exactly or not: it is what an attacker sees
        # when generalizing the exact values in his head.
        coarse = [
            coarsen(v, self.levels[p]) if p in self.levels else v for p, v in zip(self.paths, values, strict=True)
        ]
        coarse_others = self._join("generalized", coarse, member) if self.levels else 0
        if others >= self.k:
            return Decision(others, ())
        if coarse_others >= self.k:
            notes = []
            for path, before, after in zip(self.paths, values, coarse, strict=True):
                if path in self.levels and after != before:
                    _set(row, path, after)
                    notes.append((path, GENERALIZED_K))
            return Decision(coarse_others, tuple(notes))
        return self._suppress(row, others)

    def _suppress(self, row: dict[str, Any], others: int) -> Decision:
        notes = []
        for path in self.suppressible:
            if _get(row, path) is not None:
                _set(row, path, None)
                notes.append((path, SUPPRESSED_K))
        return Decision(others, tuple(notes))


def counters_for(policy: Policy, secret: bytes) -> dict[str, KCounts]:
    """One :class:`KCounts` per source topic with a ``k_anonymity`` section."""
    return {s.topic: KCounts(s, s.k_anonymity, secret) for s in policy.sources if s.k_anonymity is not None}
