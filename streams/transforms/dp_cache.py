"""Release consistency for the differential-privacy transforms (``laplace``, ``gaussian``,
``randomized_response``).

Why: a CDC stream re-sends a record on every change, and a Debezium update event carries the row's *before*
and *after* images. If every release of the same value drew fresh noise, a reader could average the releases
and recover the value; each release would also spend epsilon again. So a DP transform remembers what it
released: a (subject, value) pair seen before gets exactly the same noisy output as before. Re-releasing an
output already published reveals nothing new and spends no new budget.

How: each DP transform instance (one per policy field) owns a bounded LRU :class:`ReleaseCache`. Entries are
keyed by ``blake2b(len(subject) || subject || 0x00 || repr(value), key=<per-process secret>)``: the raw value is
never kept as a dictionary key, and without the secret (32 random bytes from :mod:`secrets`, drawn once per
process and never written anywhere) a cache key cannot be matched against guessed values. Only the digest and
the already-published noisy output are stored. Within one ``apply`` call identical (subject, value) pairs also
get one draw, so the before and after images of an unchanged field agree.

Durable state (the worker): when the batch context carries per-subject state dicts (``BatchContext.states``,
one per value, loaded by the worker from a Faust table and written back before the batch is acknowledged),
releases live there instead: ``state["r"][path][release_id] = output`` where ``release_id`` is a keyed HMAC of
the clamped value under a key derived from the tokenization key (it survives restarts, rebalances, evictions
and new schema versions; the true value is never stored), and ``state["b"][path] = [epsilon_spent,
window_start]`` is the subject's privacy budget ledger for that field. A fresh release spends the field's
epsilon; a subject whose budget (``budget``, optionally per ``budget_window_days``) cannot pay for another
release gets null for that field, and the batch context notes it (the audit event names the field).

Limitations of the in-memory fallback (no state in the context: unit tests, a REPL, a pipeline without a
state store):

- Per process and in memory: a restarted worker, another worker of the same consumer group, or a policy
  recompilation (a new schema version builds new transform instances) starts with an empty cache and draws
  fresh noise. Over the lifetime of a topic a value can therefore be released more than once; budget the
  epsilon with the expected number of restarts/rebalances in mind.
- Bounded: the least recently used entries are evicted beyond ``capacity`` (default 100 000 per field;
  about 150-200 bytes each). An evicted pair gets fresh noise when it comes back.
- Only for known subjects: with no subject keys (``BatchContext.subject_keys`` empty) or an empty key (a
  keyless event), values are noised independently. Caching keyless values by value alone would give every
  subject with the same value the same output, i.e. a stable code for the value, which is worse than fresh
  noise.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field, PositiveFloat, PositiveInt

from streams.transforms.rule import BuildContext, RuleBase

if TYPE_CHECKING:
    from streams.transforms.base import BatchContext

DEFAULT_CAPACITY = 100_000

#: One secret per process: cache keys are meaningless outside it and are never persisted.
_PROCESS_SECRET = secrets.token_bytes(32)

_MISSING: Any = object()


class ReleaseCache:
    """Bounded LRU map from a keyed hash of (subject, value) to the noisy output released for it."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("release cache capacity must be >= 0")
        self.capacity = capacity
        self._entries: OrderedDict[bytes, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(subject: bytes, value: object) -> bytes:
        material = len(subject).to_bytes(8, "big") + subject + b"\0" + repr(value).encode("utf-8", "backslashreplace")
        return hashlib.blake2b(material, key=_PROCESS_SECRET, digest_size=16).digest()

    def get(self, key: bytes) -> Any:
        """The output released for ``key``, or ``_MISSING``."""
        with self._lock:
            found = self._entries.get(key, _MISSING)
            if found is not _MISSING:
                self._entries.move_to_end(key)
            return found

    def put_if_absent(self, key: bytes, output: Any) -> Any:
        """Remember ``output`` unless another release got there first; returns the output to publish."""
        if self.capacity == 0:
            return output
        with self._lock:
            found = self._entries.get(key, _MISSING)
            if found is not _MISSING:
                self._entries.move_to_end(key)
                return found
            self._entries[key] = output
            if len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            return output


def consistent_release(
    values: Sequence[Any],
    subjects: Sequence[bytes],
    cache: ReleaseCache,
    draw: Callable[[list[Any]], list[Any]],
) -> list[Any]:
    """Release ``values`` (already validated and clamped) through ``draw`` with release consistency.

    ``draw`` noises a list of values in one call and is called at most once, with the values that need a
    fresh release: cache misses (one per distinct (subject, value) pair) and values without a subject.
    """
    if not subjects:
        return draw(list(values))
    if len(subjects) != len(values):
        raise ValueError("subject_keys must be aligned with values")
    out: list[Any] = [_MISSING] * len(values)
    fresh: list[Any] = []
    fresh_keys: list[bytes | None] = []  # None: no subject, do not cache
    waiting: dict[bytes, list[int]] = {}  # cache key -> positions sharing that fresh draw
    slot_of: list[int] = []  # fresh index -> first position
    for i, (subject, value) in enumerate(zip(subjects, values, strict=True)):
        if not subject:
            slot_of.append(i)
            fresh.append(value)
            fresh_keys.append(None)
            continue
        key = cache.key(subject, value)
        positions = waiting.get(key)
        if positions is not None:
            positions.append(i)
            continue
        found = cache.get(key)
        if found is not _MISSING:
            out[i] = found
            continue
        waiting[key] = [i]
        slot_of.append(i)
        fresh.append(value)
        fresh_keys.append(key)
    if fresh:
        noisy = draw(fresh)
        if len(noisy) != len(fresh):
            raise ValueError("noise mechanism returned the wrong number of values")
        for first, cache_key, output in zip(slot_of, fresh_keys, noisy, strict=True):
            if cache_key is None:
                out[first] = output
                continue
            published = cache.put_if_absent(cache_key, output)
            for i in waiting[cache_key]:
                out[i] = published
    return out


# -- durable, per-subject release state ------------------------------------------------------------------

RELEASES = "r"
BUDGETS = "b"
SUPPRESSED_BUDGET = "suppressed(dp budget spent)"


@dataclass(frozen=True, slots=True)
class ReleaseSpec:
    """What one DP field needs for durable releases: its path, the release-id key and its budget."""

    path: str
    release_key: bytes
    epsilon: float
    budget: float | None = None  # total epsilon per subject and field; None: unlimited
    window_s: float | None = None  # the budget renews after this many seconds; None: for ever

    def __repr__(self) -> str:  # never the key
        return f"ReleaseSpec(path={self.path!r}, epsilon={self.epsilon}, budget={self.budget})"


def release_id(release_key: bytes, path: str, value: object) -> str:
    """A keyed digest of one (field, clamped true value): what a subject's state remembers instead of it."""
    material = len(path).to_bytes(4, "big") + path.encode() + b"\0" + repr(value).encode("utf-8", "backslashreplace")
    return hmac.new(release_key, material, hashlib.sha256).hexdigest()[:32]


def durable_release(
    values: Sequence[Any],
    states: Sequence[dict[str, Any] | None],
    spec: ReleaseSpec,
    draw: Callable[[list[Any]], list[Any]],
    suppressed: list[int],
    now: float | None = None,
) -> list[Any]:
    """Release ``values`` against their subjects' states; fills ``suppressed`` with positions that got null.

    Values without a state (a keyless event) are noised independently. ``draw`` is called at most once.
    """
    if len(states) != len(values):
        raise ValueError("states must be aligned with values")
    moment = time.time() if now is None else now
    out: list[Any] = [_MISSING] * len(values)
    fresh: list[Any] = []
    owners: list[tuple[int, dict[str, Any] | None, str]] = []
    pending: dict[tuple[int, str], list[int]] = {}  # (id(state), release id) -> positions awaiting one draw
    for i, (value, state) in enumerate(zip(values, states, strict=True)):
        if state is None:
            owners.append((i, None, ""))
            fresh.append(value)
            continue
        rid = release_id(spec.release_key, spec.path, value)
        released = state.setdefault(RELEASES, {}).setdefault(spec.path, {})
        if rid in released:
            out[i] = released[rid]
            continue
        waiting = pending.get((id(state), rid))
        if waiting is not None:
            waiting.append(i)
            continue
        if not _spend(state, spec, moment):
            out[i] = None
            suppressed.append(i)
            continue
        pending[(id(state), rid)] = [i]
        owners.append((i, state, rid))
        fresh.append(value)
    if fresh:
        noisy = draw(fresh)
        if len(noisy) != len(fresh):
            raise ValueError("noise mechanism returned the wrong number of values")
        for (first, state, rid), output in zip(owners, noisy, strict=True):
            if state is None:
                out[first] = output
                continue
            state[RELEASES][spec.path][rid] = output
            for i in pending[(id(state), rid)]:
                out[i] = output
    return out


def _spend(state: dict[str, Any], spec: ReleaseSpec, moment: float) -> bool:
    """Charge one release of ``spec.epsilon`` to the subject's ledger for the field; False if it cannot pay."""
    ledger = state.setdefault(BUDGETS, {})
    spent, since = ledger.get(spec.path, (0.0, moment))
    if spec.window_s is not None and moment - since >= spec.window_s:
        spent, since = 0.0, moment  # a new window: the budget renews
    if spec.budget is not None and spent + spec.epsilon > spec.budget * (1 + 1e-9):
        return False
    ledger[spec.path] = [spent + spec.epsilon, since]
    return True


RELEASE_KEY_INFO = b"crm-anonymizer/dp-release/v1"


def derive_release_key(master_key: bytes) -> bytes:
    """The release-id key: purpose-separated from the tokenization key it is derived from (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=RELEASE_KEY_INFO).derive(master_key)


class Releasing:
    """Mixin for the DP transforms: consistent releases, durable when the context carries subject states.

    ``remember_path`` is called when the policy is compiled (the path keys the subject's state), and
    ``configure_releases`` when the rule builds the transform.
    """

    _path: str = ""
    _release_key: bytes = b""
    budget: float | None = None
    budget_window_s: float | None = None
    epsilon: float | None

    def configure_releases(self, release_key: bytes, budget: float | None, window_days: int | None) -> None:
        self._release_key = release_key
        self.budget = budget
        self.budget_window_s = window_days * 86_400.0 if window_days else None
        # A spent budget publishes null: the output field must be able to hold it.
        self.forces_nullable = budget is not None

    def remember_path(self, path: str) -> None:
        self._path = path

    def budget_label(self) -> str:
        if self.budget is None:
            return ""
        window = f"/{self.budget_window_s / 86_400:g}d" if self.budget_window_s else ""
        return f",budget={self.budget:g}{window}"

    def release(
        self,
        values: Sequence[Any],
        ctx: BatchContext,
        cache: ReleaseCache,
        draw: Callable[[list[Any]], list[Any]],
    ) -> list[Any]:
        if not ctx.states:
            return consistent_release(values, ctx.subject_keys, cache, draw)
        assert self.epsilon is not None and self._release_key  # bound and built by a rule
        spec = ReleaseSpec(self._path, self._release_key, self.epsilon, self.budget, self.budget_window_s)
        suppressed: list[int] = []
        out = durable_release(values, ctx.states, spec, draw, suppressed)
        ctx.notes.extend((i, SUPPRESSED_BUDGET) for i in suppressed)
        return out


ReleasingT = TypeVar("ReleasingT", bound=Releasing)


class ReleaseRule(RuleBase):
    """Rule parameters every DP transform shares: the privacy budget of a subject's field."""

    budget: PositiveFloat | None = Field(
        None, allow_inf_nan=False, description="Total epsilon one subject's field may spend (then: null)."
    )
    budget_window_days: PositiveInt | None = Field(None, description="The budget renews after this many days.")
    release_cache: int = Field(DEFAULT_CAPACITY, ge=0)

    def with_releases(self, transform: ReleasingT, ctx: BuildContext) -> ReleasingT:
        _, master = ctx.keyring.get(None)
        transform.configure_releases(derive_release_key(master), self.budget, self.budget_window_days)
        return transform
