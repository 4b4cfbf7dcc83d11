"""Readiness: assigned partitions, broker and registry answered recently, no stalled batch."""

from __future__ import annotations

import pytest

from streams.health import LIVENESS_S, WorkerHealth


def ready_health(now: float) -> WorkerHealth:
    health = WorkerHealth(max_silence_s=60.0, beat=now, assigned=3, broker_ok=now, registry_ok=now)
    return health


def test_ready_when_everything_answered() -> None:
    assert ready_health(1000.0).problems(1000.0) == []


def test_each_problem_is_named() -> None:
    now = 1000.0
    health = ready_health(now)
    health.assigned = 0
    assert health.problems(now) == ["no partitions assigned"]
    health = ready_health(now)
    health.registry_ok = now - 61
    assert health.problems(now) == ["registry not answering"]
    health = ready_health(now)
    health.broker_ok = None
    assert health.problems(now) == ["broker not answering"]
    health = ready_health(now)
    health.batch_since = now - 61
    assert health.in_flight_s(now) == 61
    assert health.problems(now) == ["stalled: a batch is waiting on the broker or the registry"]


def test_liveness_follows_the_event_loop_and_failures() -> None:
    now = 1000.0
    health = ready_health(now)
    assert health.alive(now) and not health.alive(now + LIVENESS_S + 1)
    health.failed = True
    assert not health.alive(now) and "event loop not running" in health.problems(now)


def test_batches_in_flight() -> None:
    health = WorkerHealth()
    assert health.in_flight_s() == 0.0
    health.batch_started()
    assert health.in_flight_s() >= 0.0 and health.batch_since is not None
    health.batch_done()
    assert health.batch_since is None


def test_a_consumer_idle_with_records_waiting_is_stalled() -> None:
    health = WorkerHealth()
    health.note_assigned(3)
    health.note_lag(40)
    now = health.progress + 200.0
    health.lag_at = now - 5.0
    assert health.consumer_stalled_s(180.0, 30.0, now) == pytest.approx(200.0)


@pytest.mark.parametrize(
    "change",
    ["nothing waits", "no partitions", "batch in flight", "lag stale", "recent batch", "recent assignment"],
)
def test_what_is_not_a_stall(change: str) -> None:
    """Each condition alone keeps the watchdog quiet: an outage holds a batch in flight, a broker that cannot
    be asked leaves the lag stale, a rebalance leaves no partitions."""
    health = WorkerHealth()
    health.note_assigned(3)
    health.note_lag(40)
    now = health.progress + 200.0
    health.lag_at = now - 5.0
    if change == "nothing waits":
        health.lag_messages = 0
    elif change == "no partitions":
        health.assigned = 0
    elif change == "batch in flight":
        health.batch_since = now - 150.0
    elif change == "lag stale":
        health.lag_at = now - 60.0
    elif change == "recent batch":
        health.batch_started()
        health.batch_done()
        now = health.progress + 10.0
        health.lag_at = now
    else:
        health.note_assigned(3)
        now = health.progress + 10.0
        health.lag_at = now
    assert health.consumer_stalled_s(180.0, 30.0, now) == 0.0
