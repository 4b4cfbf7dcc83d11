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

Limitations (state them to data owners):

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
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

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
