"""The soak's verdict: a climb that stays inside the 10% spread limit must still fail it."""

from __future__ import annotations

import pytest

from tests.bench.run import _mb_per_min, soak_verdict


def test_a_steady_climb_has_its_slope() -> None:
    samples = [(float(t), 450.0 + 0.075 * t) for t in range(60, 601, 10)]  # +4.5 MB/min, 9% over 9 minutes
    assert _mb_per_min(samples) == pytest.approx(4.5)


def test_a_flat_noisy_series_has_no_trend() -> None:
    samples = [(float(t), 450.0 + (1.0 if i % 2 else -1.0)) for i, t in enumerate(range(60, 601, 10))]
    assert abs(_mb_per_min(samples)) < 0.1


def test_too_few_samples_give_zero() -> None:
    assert _mb_per_min([(60.0, 450.0)]) == 0.0


def test_a_leak_inside_the_spread_limit_is_not_flat() -> None:
    # The parent's old leak: +4.5 MB/min from 450 MB, 9% after 9 minutes (the spread rule alone passed it).
    samples = [(float(t), 450.0 + 0.075 * (t - 60)) for t in range(0, 601, 10)]
    spread, slope, hourly, flat = soak_verdict(samples, warmup_s=60.0)
    assert spread < 0.10 and slope == pytest.approx(4.5)
    assert hourly == pytest.approx(4.5 * 60 / 450.0)
    assert not flat


def test_a_flat_series_with_a_warm_up_climb_is_flat() -> None:
    # The climb before the warm-up ends is not judged; after it, noise of +-1 MB and a slight settling drift.
    samples = [(float(t), 400.0 + t / 2) for t in range(0, 60, 10)]
    samples += [(float(t), 440.0 + 0.002 * t + (1.0 if i % 2 else -1.0)) for i, t in enumerate(range(60, 601, 10))]
    spread, slope, hourly, flat = soak_verdict(samples, warmup_s=60.0)
    assert spread < 0.01 and abs(slope) < 0.2 and hourly < 0.05
    assert flat


def test_a_jump_beyond_the_spread_limit_is_not_flat_even_without_a_trend() -> None:
    samples = [(float(t), 450.0) for t in range(60, 601, 10)]
    samples[20] = (samples[20][0], 520.0)
    assert soak_verdict(samples, warmup_s=60.0)[3] is False
