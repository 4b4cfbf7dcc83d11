"""Shared statistics for the DP transform tests.

Every statistical assertion uses a bound whose false-failure rate is stated: a correct implementation fails
such a test about once in a million runs (or less), a wrong scale or a biased sampler fails it reliably.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from streams.transforms.base import BatchContext

N = 20_000
#: Two-sided standard-normal quantile for a false-failure rate of 1e-6: P(|N(0,1)| > 4.892) = 1.0e-6.
Z_1E6 = 4.892
#: For variance checks: the sample variance of heavy-ish tailed noise converges to normal more slowly, so
#: use z = 6 (nominal two-sided rate 2e-9) to keep the real false-failure rate below 1e-6.
Z_VAR = 6.0


def distinct_subjects(n: int, prefix: bytes = b"subject-") -> BatchContext:
    """One subject per value, so the release cache never merges the draws."""
    return BatchContext(tuple(prefix + str(i).encode() for i in range(n)))


def mean_var(xs: Sequence[float]) -> tuple[float, float]:
    n = len(xs)
    mean = math.fsum(xs) / n
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    return mean, var


def assert_unbiased(xs: Sequence[float], true_mean: float, sd: float) -> None:
    """|mean - true| < z * sd / sqrt(n), false-failure rate 1e-6 (CLT; n = 20 000)."""
    mean, _ = mean_var(xs)
    bound = Z_1E6 * sd / math.sqrt(len(xs))
    assert abs(mean - true_mean) < bound, (mean, true_mean, bound)


def assert_variance(xs: Sequence[float], true_var: float, kurtosis: float) -> None:
    """Relative error of the sample variance within Z_VAR standard errors.

    Var(s^2) ~ (mu4 - sigma^4) / n = (kurtosis - 1) sigma^4 / n, so the relative standard error is
    sqrt((kurtosis - 1) / n): 1.6% for Laplace noise (kurtosis 6) and 1.0% for Gaussian noise (kurtosis 3)
    at n = 20 000, giving bounds of 9.5% and 6.0%.
    """
    _, var = mean_var(xs)
    bound = Z_VAR * math.sqrt((kurtosis - 1) / len(xs))
    assert abs(var / true_var - 1) < bound, (var, true_var, bound)


def assert_rate(hits: int, n: int, p: float) -> None:
    """Observed rate within z * sqrt(p(1-p)/n) of p, false-failure rate 1e-6 (normal approximation)."""
    bound = Z_1E6 * math.sqrt(p * (1 - p) / n)
    assert abs(hits / n - p) < bound, (hits / n, p, bound)
