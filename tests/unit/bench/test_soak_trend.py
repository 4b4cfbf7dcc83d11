"""The soak's trend figure: a climb that stays inside the 10% spread limit must still show."""

from __future__ import annotations

import pytest

from tests.bench.run import _mb_per_min


def test_a_steady_climb_has_its_slope() -> None:
    samples = [(float(t), 450.0 + 0.075 * t) for t in range(60, 601, 10)]  # +4.5 MB/min, 9% over 9 minutes
    assert _mb_per_min(samples) == pytest.approx(4.5)


def test_a_flat_noisy_series_has_no_trend() -> None:
    samples = [(float(t), 450.0 + (1.0 if i % 2 else -1.0)) for i, t in enumerate(range(60, 601, 10))]
    assert abs(_mb_per_min(samples)) < 0.1


def test_too_few_samples_give_zero() -> None:
    assert _mb_per_min([(60.0, 450.0)]) == 0.0
