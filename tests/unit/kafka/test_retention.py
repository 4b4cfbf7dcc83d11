"""Output-topic retention against backdated Kafka timestamps (the arithmetic; the broker side is in
tests/integration/test_output_retention.py)."""

from __future__ import annotations

import pytest

from streams.envelope.metadata import MetaAction
from streams.kafka.retention import TopicTimeProblem, created_topic_config, retention_ms

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


def test_only_day_or_coarser_backdating_gets_its_own_retention() -> None:
    """An hour's backdating fits any sane broker default; the topic keeps it (it may be longer than ours)."""
    seven_days = 7 * DAY_S * 1000
    assert created_topic_config(3_600, seven_days) == {}
    assert created_topic_config(0, seven_days) == {}
    assert created_topic_config(DAY_S, seven_days) == {"retention.ms": str(seven_days + DAY_S * 1000)}
    assert created_topic_config(31 * DAY_S, seven_days) == {"retention.ms": str(38 * DAY_S * 1000)}


def test_the_problems_say_what_to_set() -> None:
    short = TopicTimeProblem("anon.crm.public.contacts", 31 * DAY_S, 86_400_000, 38 * DAY_S * 1000)
    text = short.message()
    assert "anon.crm.public.contacts" in text and "retention.ms=86400000" in text
    assert f">= {38 * DAY_S * 1000}" in text and "31 days" in text
    appended = TopicTimeProblem("anon.crm.public.contacts", 31 * DAY_S).message()
    assert "LogAppendTime" in appended and "CreateTime" in appended
