"""Output-topic retention against backdated Kafka timestamps (the arithmetic; the broker side is in
tests/integration/test_output_retention.py)."""

from __future__ import annotations

import pytest

from streams.envelope.metadata import MetaAction
from streams.kafka.retention import MIN_READABLE_MS, RetentionProblem, retention_ms

DAY_S = 86_400


@pytest.mark.parametrize(
    ("action", "seconds"),
    [
        (MetaAction("coarsen", "month"), 31 * DAY_S),
        (MetaAction("coarsen", "week"), 7 * DAY_S),
        (MetaAction("coarsen", "hour"), 3_600),
        (MetaAction("keep"), 0),
        (MetaAction("drop"), 0),
    ],
)
def test_how_far_a_coarsened_timestamp_lies_in_the_past(action: MetaAction, seconds: int) -> None:
    assert action.backdates_s() == seconds


def test_the_longest_month_bounds_the_backdating() -> None:
    """The last millisecond of a 31-day month floors to its first day: 31 days minus 1 ms back."""
    action = MetaAction("coarsen", "month")
    last = 1_704_067_199_999  # 2023-12-31T23:59:59.999Z
    assert last - action.apply(last) == 31 * DAY_S * 1000 - 1 <= action.backdates_s() * 1000


def test_retention_adds_the_backdating_to_the_readable_time() -> None:
    seven_days = 7 * DAY_S * 1000
    assert retention_ms(31 * DAY_S, seven_days) == 38 * DAY_S * 1000
    assert retention_ms(0, seven_days) == seven_days


def test_the_problem_says_what_to_set_without_values() -> None:
    problem = RetentionProblem("anon.crm.public.contacts", 86_400_000, 31 * DAY_S)
    text = problem.message()
    assert "anon.crm.public.contacts" in text and "retention.ms=86400000" in text
    assert f">= {31 * DAY_S * 1000 + MIN_READABLE_MS}" in text and "31 days" in text
