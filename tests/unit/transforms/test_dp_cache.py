from __future__ import annotations

import itertools

import pytest

from streams.transforms.dp_cache import ReleaseCache, consistent_release


class CountingNoise:
    """A stand-in mechanism: each released value gets a new serial number, so reuse is visible."""

    def __init__(self) -> None:
        self.calls: list[list[object]] = []
        self._serial = itertools.count()

    def __call__(self, values: list[object]) -> list[object]:
        self.calls.append(list(values))
        return [(v, next(self._serial)) for v in values]


def test_one_draw_per_distinct_pair_and_one_call_per_batch() -> None:
    cache, noise = ReleaseCache(), CountingNoise()
    out = consistent_release([5, 5, 5, 7], [b"a", b"a", b"b", b"a"], cache, noise)
    assert noise.calls == [[5, 5, 7]]
    assert out[0] == out[1] and len({out[0], out[2], out[3]}) == 3
    again = consistent_release([7, 5, 9], [b"a", b"b", b"a"], cache, noise)
    assert noise.calls[1] == [9]
    assert again[:2] == [out[3], out[2]]


def test_no_subjects_means_no_caching() -> None:
    cache, noise = ReleaseCache(), CountingNoise()
    first = consistent_release([5, 5], [], cache, noise)
    assert first[0] != first[1] and len(cache) == 0
    keyless = consistent_release([5, 5], [b"", b""], cache, noise)
    assert keyless[0] != keyless[1] and len(cache) == 0


def test_nothing_to_draw_means_no_call() -> None:
    cache, noise = ReleaseCache(), CountingNoise()
    consistent_release([1], [b"a"], cache, noise)
    consistent_release([1, 1], [b"a", b"a"], cache, noise)
    assert len(noise.calls) == 1


def test_lru_eviction() -> None:
    cache, noise = ReleaseCache(capacity=2), CountingNoise()
    a = consistent_release([1], [b"a"], cache, noise)
    consistent_release([1], [b"b"], cache, noise)
    assert consistent_release([1], [b"a"], cache, noise) == a  # a is now the most recently used
    consistent_release([1], [b"c"], cache, noise)  # evicts b
    assert len(cache) == 2
    assert consistent_release([1], [b"a"], cache, noise) == a
    before = len(noise.calls)
    consistent_release([1], [b"b"], cache, noise)
    assert len(noise.calls) == before + 1  # b was evicted: a fresh draw


def test_capacity_zero_keeps_only_within_batch_consistency() -> None:
    cache, noise = ReleaseCache(capacity=0), CountingNoise()
    out = consistent_release([1, 1], [b"a", b"a"], cache, noise)
    assert out[0] == out[1]
    assert consistent_release([1], [b"a"], cache, noise) != [out[0]]


def test_keys_are_keyed_digests_not_values() -> None:
    key = ReleaseCache.key(b"subject-1", "CANARY-7f3a")
    assert len(key) == 16 and b"CANARY" not in key
    assert key == ReleaseCache.key(b"subject-1", "CANARY-7f3a")
    assert key != ReleaseCache.key(b"subject-2", "CANARY-7f3a")
    assert ReleaseCache.key(b"s", 1) != ReleaseCache.key(b"s", 1.0) != ReleaseCache.key(b"s", True)
    # Unambiguous framing: moving bytes between subject and value changes the key.
    assert ReleaseCache.key(b"ab", "c") != ReleaseCache.key(b"a", "bc")


def test_misaligned_subjects_are_a_bug() -> None:
    with pytest.raises(ValueError, match="aligned"):
        consistent_release([1, 2], [b"a"], ReleaseCache(), CountingNoise())
    with pytest.raises(ValueError):
        ReleaseCache(capacity=-1)
