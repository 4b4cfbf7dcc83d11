"""Lag arithmetic: committed offset (or the log start) to the high watermark; age of the oldest record."""

from __future__ import annotations

from streams.kafka.lag import lag_messages, lag_seconds


def test_lag_in_messages() -> None:
    assert lag_messages(committed=40, low=0, high=47) == 7
    assert lag_messages(committed=47, low=0, high=47) == 0
    assert lag_messages(committed=-1, low=10, high=25) == 15  # nothing committed: from the log start
    assert lag_messages(committed=5, low=10, high=25) == 15  # committed offset deleted by retention
    assert lag_messages(committed=-1, low=0, high=0) == 0


def test_lag_in_seconds() -> None:
    assert lag_seconds(None, 10_000.0) == 0.0
    assert lag_seconds(4_000, 10_000.0) == 6.0
    assert lag_seconds(12_000, 10_000.0) == 0.0  # clock skew never gives a negative age
