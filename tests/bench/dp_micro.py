"""Microbenchmark (not a test): microseconds per value of OpenDP noise, one scalar call per value versus one
vectorized call over a batch. Run: ``.venv/bin/python -m tests.bench.dp_micro [batch]``.

Each figure is the best of several rounds (least disturbed by other load on the machine).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import opendp.prelude as dp

from streams.transforms.base import BatchContext
from streams.transforms.laplace import Laplace
from streams.transforms.randomized_response import RandomizedResponse

dp.enable_features("contrib")


def best_us_per_value(run: Callable[[], Any], values: int, rounds: int = 5) -> float:
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / values * 1e6


def main(batch: int = 500) -> None:
    scalar_n = 200
    rows: list[tuple[str, float, float]] = []

    def pair(label: str, scalar: Any, vector: Any, value: Any, vector_value: Any = None) -> None:
        one = best_us_per_value(lambda: [scalar(value) for _ in range(scalar_n)], scalar_n)
        item = value if vector_value is None else vector_value
        many = best_us_per_value(lambda: vector([item] * batch), batch)
        rows.append((label, one, many))

    for scale in (100.0, 1.0):
        f_atom = dp.m.make_laplace(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)
        f_vec = dp.m.make_laplace(
            dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float), scale=scale
        )
        pair(f"laplace float, scale {scale:g}", f_atom, f_vec, 50.0)
        i_atom = dp.m.make_laplace(dp.atom_domain(T="i64"), dp.absolute_distance(T="i64"), scale=scale)
        i_vec = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64"), scale=scale)
        pair(f"laplace long,  scale {scale:g}", i_atom, i_vec, 50)

    for T, value in ((float, 50.0), ("i64", 50)):
        g_atom = dp.m.make_gaussian(
            dp.atom_domain(T=T, nan=False) if T is float else dp.atom_domain(T=T),
            dp.absolute_distance(T=T),
            scale=450.0,
        )
        g_vec = dp.m.make_gaussian(
            dp.vector_domain(dp.atom_domain(T=T, nan=False) if T is float else dp.atom_domain(T=T)),
            dp.l2_distance(T=T),
            scale=450.0,
        )
        pair(f"gaussian {'float' if T is float else 'long'}, scale 450", g_atom, g_vec, value)

    rr_bool = dp.m.make_randomized_response_bool(0.75)
    bool_bits = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T="i32")), dp.l1_distance(T="i32"), scale=1 / math.log(3)
    )
    pair("boolean RR eps=ln3 (bool RR scalar / clamped discrete Laplace vector)", rr_bool, bool_bits, True, 1)
    rr_cat = dp.m.make_randomized_response(["smb", "mid_market", "enterprise", "public_sector"], prob=0.5, T=str)
    rows.append(
        (
            "categorical RR k=4 (scalar only)",
            best_us_per_value(lambda: [rr_cat("smb") for _ in range(200)], 200),
            math.nan,
        )
    )

    # The transforms end to end (type checks, clamping, release cache with distinct subjects, OpenDP call).
    # A fresh bound transform per round, so every round misses the release cache as a first release does.
    ctx = BatchContext(tuple(b"s%d" % i for i in range(batch)))

    def end_to_end(label: str, make: Callable[[], Any], value: Any) -> None:
        fresh = iter([make() for _ in range(5)])
        rows.append((label, math.nan, best_us_per_value(lambda: next(fresh).apply([value] * batch, ctx), batch)))

    end_to_end("laplace transform, double", lambda: Laplace(1.0, 0, 100).bind("double"), 50.0)
    end_to_end("laplace transform, long", lambda: Laplace(1.0, 0, 100).bind("long"), 50)
    end_to_end(
        "randomized_response transform, boolean", lambda: RandomizedResponse(epsilon=math.log(3)).bind("boolean"), True
    )
    cats = ["smb", "mid_market", "enterprise", "public_sector"]
    end_to_end(
        "randomized_response transform, 4 categories",
        lambda: RandomizedResponse(epsilon=math.log(3), categories=cats).bind("string"),
        "smb",
    )
    hit = Laplace(1.0, 0, 100).bind("double")
    hit.apply([50.0] * batch, ctx)
    rows.append(
        (
            "laplace transform, double, all release-cache hits",
            math.nan,
            best_us_per_value(lambda: hit.apply([50.0] * batch, ctx), batch),
        )
    )

    print(f"{'mechanism':<75} {'scalar us/value':>16} {f'vector({batch}) us/value':>22}")
    for label, one, many in rows:
        print(f"{label:<75} {one:>16.1f} {many:>22.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
