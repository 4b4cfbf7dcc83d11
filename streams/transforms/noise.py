"""What every DP noise transform shares (``laplace``, ``gaussian``; ``randomized_response`` uses the labels):
bounds, clamping, type checks, the per-type OpenDP measurement built once per field, the release cache, and
the rule parameters. The mechanisms themselves are in their own modules.
"""

from __future__ import annotations

import copy
import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, Self

import opendp.prelude as dp
from pydantic import Field, FiniteFloat, PositiveFloat, model_validator

from streams.avro.types import AvroType, base_name, logical_name, type_label
from streams.errors import PolicyError
from streams.transforms.base import BatchContext, Transform, wrong_type
from streams.transforms.dp_cache import DEFAULT_CAPACITY, ReleaseCache, ReleaseRule, Releasing

dp.enable_features("contrib")

#: Avro integer types -> (OpenDP integer type, smallest value, largest value).
INTEGER_TYPES: dict[str, tuple[str, int, int]] = {
    "int": ("i32", -(2**31), 2**31 - 1),
    "long": ("i64", -(2**63), 2**63 - 1),
}
FLOAT_TYPES = frozenset({"float", "double"})


def fmt(number: float) -> str:
    """A parameter as written in labels: integers without ``.0``, 12 significant digits."""
    return f"{number:.12g}"


def float_domain() -> Any:
    return dp.vector_domain(dp.atom_domain(T=float, nan=False))


def integer_domain(opendp_type: str) -> Any:
    return dp.vector_domain(dp.atom_domain(T=opendp_type))


class NumericNoise(Releasing, Transform):
    """Shared by ``laplace`` and ``gaussian``: clamping, type checks, per-type measurement, release cache.

    The instance a rule builds is a template (no measurement); ``bind`` returns a copy with the measurement
    for the field's type, built once. ``apply`` on the template is a programming error.
    """

    accepts = frozenset({"int", "long", "float", "double"})
    #: The OpenDP metric family ("l1" or "l2") of the mechanism; the sensitivity is measured in it.
    metric: str

    def __init__(
        self,
        *,
        lower: float,
        upper: float,
        sensitivity: float | None = None,
        clamp_output: bool = False,
        release_cache: int = DEFAULT_CAPACITY,
    ) -> None:
        if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
            raise ValueError(f"{self.name} needs finite lower < upper")
        if sensitivity is not None and not (math.isfinite(sensitivity) and sensitivity > 0):
            raise ValueError(f"{self.name} needs a finite sensitivity > 0")
        self.lower = float(lower)
        self.upper = float(upper)
        self.sensitivity = float(sensitivity) if sensitivity is not None else self.upper - self.lower
        self.explicit_sensitivity = sensitivity is not None
        self.clamp_output = clamp_output
        self.release_cache = release_cache
        self._cache = ReleaseCache(release_cache)
        self._base: str | None = None
        self._measurement: Any = None
        self._integer = False
        self._low: float | int = self.lower
        self._high: float | int = self.upper

    # -- policy time -------------------------------------------------------------------------------------

    def _params_label(self) -> str:
        extra = f",sensitivity={fmt(self.sensitivity)}" if self.explicit_sensitivity else ""
        extra += ",clamp_output" if self.clamp_output else ""
        return f"lower={fmt(self.lower)},upper={fmt(self.upper)}{extra}{self.budget_label()}"

    def _type_problem(self, base: str) -> str | None:
        if base in FLOAT_TYPES:
            return None
        _, smallest, largest = INTEGER_TYPES[base]
        if not (self.lower.is_integer() and self.upper.is_integer()):
            return f"{self.name} on an {base} field needs integer lower and upper"
        if not (smallest <= self.lower and self.upper <= largest):
            return f"{self.name} bounds do not fit the {base} range"
        if not self.sensitivity.is_integer():
            return f"{self.name} on an {base} field needs an integer sensitivity"
        return None

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        self.remember_path(path)
        if logical_name(input_type):
            raise PolicyError(f"field {path!r}: {self.name} needs a plain number, got {type_label(input_type)}")
        base = base_name(input_type)
        problem = self._type_problem(base)
        if problem:
            raise PolicyError(f"field {path!r}: {problem}")
        return base

    def bind(self, input_type: AvroType) -> Transform:
        base = base_name(input_type)
        if base == self._base:
            return self
        if base not in self.accepts:
            raise PolicyError(f"{self.name} does not fit type {type_label(input_type)}")
        problem = self._type_problem(base)
        if problem:
            raise PolicyError(problem)
        bound = copy.copy(self)
        bound._cache = ReleaseCache(self.release_cache)
        bound._base = base
        bound._integer = base in INTEGER_TYPES
        d_in: float | int
        if bound._integer:
            bound._low, bound._high = int(self.lower), int(self.upper)
            opendp_type = INTEGER_TYPES[base][0]
            domain, d_in = integer_domain(opendp_type), int(self.sensitivity)
        else:
            opendp_type, domain, d_in = "f64", float_domain(), self.sensitivity
        try:
            bound._measurement = bound._make_measurement(domain, opendp_type, d_in)
        except dp.OpenDPException as exc:
            raise PolicyError(f"{self.name}: OpenDP refused the parameters: {exc.message}") from None
        return bound

    @abstractmethod
    def _make_measurement(self, domain: Any, opendp_type: str, d_in: float | int) -> Any:
        """Build the OpenDP measurement; set ``self.epsilon`` (and ``self.delta``) from its privacy map."""

    # -- run time ----------------------------------------------------------------------------------------

    def _clamp(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong_type(self.name, value, "number")
        if self._integer:
            if not isinstance(value, int):
                raise wrong_type(self.name, value, "integer")
            return min(max(value, self._low), self._high)
        number = float(value)
        if not math.isfinite(number):
            raise wrong_type(self.name, value, "finite number")  # never let NaN/inf reach OpenDP
        return min(max(number, self._low), self._high)

    def _draw(self, values: list[Any]) -> list[Any]:
        noisy: list[Any] = self._measurement(values)  # one vectorized OpenDP call
        if self.clamp_output:
            low, high = self._low, self._high
            return [min(max(x, low), high) for x in noisy]
        return noisy

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        if self._measurement is None:
            raise RuntimeError(f"{self.name} must be bound to a field type before use")
        clamped = [self._clamp(v) for v in values]  # validate the whole batch before any noise is drawn
        return self.release(clamped, ctx, self._cache, self._draw)


class NoiseRule(ReleaseRule):
    """Parameters every DP noise rule shares (laplace, gaussian): required epsilon and clamping bounds."""

    epsilon: PositiveFloat = Field(allow_inf_nan=False)
    lower: FiniteFloat
    upper: FiniteFloat
    sensitivity: PositiveFloat | None = Field(None, allow_inf_nan=False)
    clamp_output: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if not self.lower < self.upper:
            raise ValueError(f"{getattr(self, 'transform', 'noise')} needs lower < upper")
        return self
