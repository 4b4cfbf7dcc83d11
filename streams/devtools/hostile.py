"""Hostile records for the chaos suite and the property tests: frames a broken or malicious producer sends.

From valid Confluent-framed records: truncated frames, bit flips in the body (invalid UTF-8, impossible
lengths and union indexes), wrong magic bytes, unknown and beyond-int32 schema ids, trailing garbage, random
bytes, missing keys or values, odd headers. Values of valid events that are extreme (NaN, inf, huge numbers
in DP fields, long strings, malformed Salesforce bitmaps) are built by the callers with their generators.
Deterministic per seed (test data, never privacy randomness).
"""

from __future__ import annotations

import random  # seeded hostile test data only: never privacy randomness (the worker never imports this)
from collections.abc import Iterator, Sequence

Frame = bytes | None
Headers = list[tuple[str, bytes]]

MUTATIONS = ("truncate", "bit_flips", "wrong_magic", "schema_id", "trailing", "random")


def mutate(frame: bytes, rng: random.Random, kind: str | None = None) -> bytes:
    """One hostile variant of a Confluent-framed record."""
    kind = kind or rng.choice(MUTATIONS)
    data = bytearray(frame)
    if kind == "truncate":
        return bytes(data[: rng.randrange(0, max(1, len(data)))])
    if kind == "bit_flips":
        for _ in range(rng.randrange(1, 8)):
            pos = rng.randrange(5, len(data)) if len(data) > 5 else 0
            if data:
                data[pos] ^= 1 << rng.randrange(8)
        return bytes(data)
    if kind == "wrong_magic" and data:
        data[0] = rng.randrange(1, 256)
        return bytes(data)
    if kind == "schema_id" and len(data) >= 5:
        data[1:5] = rng.choice([rng.randrange(100_000, 2**31), rng.randrange(2**31, 2**32)]).to_bytes(4, "big")
        return bytes(data)
    if kind == "trailing":
        return bytes(data) + rng.randbytes(rng.randrange(1, 50))
    return rng.randbytes(rng.randrange(0, 200))


def odd_headers(rng: random.Random) -> Headers:
    return rng.choice(
        [
            [],
            [("odd\x00header", rng.randbytes(rng.randrange(0, 20)))],
            [("", b"")],
            [("crm-anonymizer-source-offset", b"-1"), ("\xff\xfe", b"\x00" * 8)],
        ]
    )


def hostile_variants(
    valid: Sequence[tuple[Frame, Frame]], rng: random.Random, count: int
) -> Iterator[tuple[Frame, Frame, Headers]]:
    """``count`` distinct hostile (key, value, headers) built from the valid (key, value) frames."""
    seen: set[tuple[Frame, Frame]] = set()
    while len(seen) < count:
        key, value = rng.choice(valid)
        choice = rng.randrange(5)
        if choice == 0 and key is not None:
            key = mutate(key, rng)
        elif choice in (1, 2) and value is not None:
            value = mutate(value, rng)
        elif choice == 3:
            key, value = mutate(key or b"", rng), mutate(value or b"", rng)
        else:
            key, value = (None, None) if rng.random() < 0.1 else (key, mutate(value or b"\x00", rng))
        if (key, value) in seen:
            continue
        seen.add((key, value))
        yield key, value, odd_headers(rng)
