"""``gaussian``: add Gaussian noise to a bounded number, through OpenDP ((epsilon, delta)-differential privacy).

Parameters:

- ``epsilon`` (required, > 0) and ``delta`` (required, ``0 < delta < 1``): privacy loss of one release of one
  value; delta is the probability-like slack of approximate DP. Keep delta well below 1/number of subjects
  (1e-6 to 1e-9 are usual).
- ``lower``, ``upper`` (required, ``lower < upper``): clamping bounds, applied before noising (integers within
  the type's range for ``int``/``long`` fields).
- ``sensitivity`` (optional, > 0; default ``upper - lower``): the L2 sensitivity. For one released value L2
  and L1 sensitivity coincide, and the default protects the whole clamped range of a subject's value (see
  ``laplace`` for why, and what a smaller value means).
- ``clamp_output`` (optional, default false) and ``release_cache`` (default 100 000): as for ``laplace``.

Mechanism: OpenDP's ``make_gaussian`` (zero-concentrated DP) turned into approximate DP with
``make_zCDP_to_approxDP`` and fixed at the configured delta with ``make_fix_delta``. The noise scale (the
standard deviation) is the smallest one OpenDP proves to meet (epsilon, delta) at ``d_in = sensitivity``,
found once by ``dp.binary_search_param`` when the policy is compiled (0.15-0.25 s; memoized per parameter
set). Float fields get Gaussian noise, ``int``/``long`` fields the discrete Gaussian and stay integers.
Each batch makes one vectorized OpenDP call per field: measured ~48 microseconds per value for
doubles (the exact float Gaussian sampler is the slowest of the three) and ~11 for integers in a
500-value call. ``epsilon``/``delta`` on the bound transform are
OpenDP's privacy map at that scale: at most the configured values and equal within the search's tolerance.

Versus ``laplace``: for one value at the same epsilon, Laplace noise is smaller (Gaussian pays for delta and
the zCDP conversion); Gaussian noise has light tails (no rare huge outliers) and composes more tightly over
many releases. Prefer ``laplace`` unless those matter.

Privacy meaning: as for ``laplace``, per value and per subject, with the additional small probability
``delta`` of a larger loss. Releases of the same (subject, value) pair reuse their noise (``dp_cache``).

Example::

    annual_revenue: {transform: gaussian, epsilon: 1.0, delta: 1.0e-7, lower: 0, upper: 10000000}
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import opendp.prelude as dp
from pydantic import Field

from streams.errors import PolicyError
from streams.transforms.base import Transform
from streams.transforms.dp_cache import DEFAULT_CAPACITY
from streams.transforms.noise import NoiseRule, NumericNoise, float_domain, fmt
from streams.transforms.rule import BuildContext

dp.enable_features("contrib")


def _approx_dp(domain: Any, opendp_type: str, scale: float, delta: float) -> Any:
    gaussian = dp.m.make_gaussian(domain, dp.l2_distance(T=opendp_type), scale=scale)
    return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gaussian), delta)


@functools.lru_cache(maxsize=256)
def gaussian_scale(epsilon: float, delta: float, d_in: float | int, opendp_type: str) -> float:
    """The smallest scale OpenDP proves (epsilon, delta)-DP for a change of ``d_in``."""
    # The scale needed grows linearly with the sensitivity, so search at d_in = 1 and scale up: OpenDP's search
    # starting from its default bracket overflows (inf_exp) for sensitivities in the thousands and beyond.
    # The caller re-checks the privacy map at the real d_in on the bound measurement.
    domain = float_domain()
    unit = float(
        dp.binary_search_param(lambda s: _approx_dp(domain, "f64", s, delta), d_in=1.0, d_out=(epsilon, delta))
    )
    return unit * float(d_in) * (1 + 1e-9)  # a hair above, so rounding never lands below the proven scale


class Gaussian(NumericNoise):
    name = "gaussian"
    metric = "l2"

    def __init__(
        self,
        epsilon: float,
        delta: float,
        lower: float,
        upper: float,
        sensitivity: float | None = None,
        clamp_output: bool = False,
        release_cache: int = DEFAULT_CAPACITY,
    ) -> None:
        if not (math.isfinite(epsilon) and epsilon > 0):
            raise ValueError("gaussian needs a finite epsilon > 0")
        if not 0 < delta < 1:
            raise ValueError("gaussian needs 0 < delta < 1")
        super().__init__(
            lower=lower, upper=upper, sensitivity=sensitivity, clamp_output=clamp_output, release_cache=release_cache
        )
        self.configured_epsilon = float(epsilon)
        self.configured_delta = float(delta)
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        self.scale: float | None = None  # known once bound

    @property
    def label(self) -> str:
        return (
            f"gaussian(epsilon={fmt(self.configured_epsilon)},delta={fmt(self.configured_delta)},"
            f"{self._params_label()})"
        )

    def _make_measurement(self, domain: Any, opendp_type: str, d_in: float | int) -> Any:
        # The float search serves integer fields too (OpenDP's Gaussian privacy map is the same for both);
        # the map of the measurement actually built is what is checked and recorded.
        scale = gaussian_scale(self.configured_epsilon, self.configured_delta, float(d_in), "f64")
        measurement = _approx_dp(domain, opendp_type, scale, self.configured_delta)
        epsilon, delta = (float(x) for x in measurement.map(d_in))
        if opendp_type != "f64" and (epsilon > self.configured_epsilon or delta > self.configured_delta):
            scale = gaussian_scale(self.configured_epsilon, self.configured_delta, d_in, opendp_type)
            measurement = _approx_dp(domain, opendp_type, scale, self.configured_delta)
            epsilon, delta = (float(x) for x in measurement.map(d_in))
        if not (
            epsilon <= self.configured_epsilon * (1 + 1e-9)
            and delta <= self.configured_delta * (1 + 1e-9)
            and math.isclose(epsilon, self.configured_epsilon, rel_tol=1e-6)
        ):
            raise PolicyError(
                f"gaussian: OpenDP's privacy map gives ({epsilon}, {delta}), not ({self.configured_epsilon},"
                f" {self.configured_delta})"
            )
        self.scale = scale
        self.epsilon, self.delta = epsilon, delta
        return measurement


class GaussianRule(NoiseRule):
    transform: Literal["gaussian"]
    delta: float = Field(gt=0, lt=1)

    def build(self, ctx: BuildContext) -> Transform:
        transform = Gaussian(
            self.epsilon, self.delta, self.lower, self.upper, self.sensitivity, self.clamp_output, self.release_cache
        )
        return self.with_releases(transform, ctx)
