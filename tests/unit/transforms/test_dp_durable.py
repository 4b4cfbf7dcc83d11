"""Durable DP releases: per-subject state dicts (what the worker keeps in Faust tables) and budgets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.envelope.base import subject_key
from streams.keys import KeyRing
from streams.transforms.base import BatchContext
from streams.transforms.dp_cache import (
    SUPPRESSED_BUDGET,
    ReleaseSpec,
    derive_release_key,
    durable_release,
    release_id,
)
from streams.transforms.laplace import Laplace, LaplaceRule
from streams.transforms.randomized_response import RandomizedResponseRule
from streams.transforms.rule import BuildContext

from ..support import TEST_KEY, TEST_KEY_ID

KEY = derive_release_key(TEST_KEY)
ALICE = subject_key({"id": 1})


def counter() -> tuple[list[list[Any]], Any]:
    calls: list[list[Any]] = []

    def draw(values: list[Any]) -> list[Any]:
        calls.append(list(values))
        return [v + 0.5 + len(calls) + i / 10 for i, v in enumerate(values)]

    return calls, draw


def test_an_unchanged_value_gets_the_stored_noise_in_a_later_batch_and_process() -> None:
    state: dict[str, Any] = {}
    spec = ReleaseSpec("lifetime_value", KEY, 1.0)
    calls, draw = counter()
    first = durable_release([100.0, 100.0, 200.0], [state, state, state], spec, draw, [])
    assert first[0] == first[1] != first[2]
    assert calls == [[100.0, 200.0]]  # one draw per distinct value
    # The state survives as JSON (a Faust table entry), e.g. in a restarted worker:
    restored = json.loads(json.dumps(state))
    calls2, draw2 = counter()
    again = durable_release([100.0, 300.0], [restored, restored], spec, draw2, [])
    assert again[0] == first[0]
    assert calls2 == [[300.0]]
    assert str(100.0) not in json.dumps(restored) and "200.0" not in json.dumps(restored)  # only digests


def test_state_holds_digests_keyed_by_field_and_a_budget_ledger() -> None:
    state: dict[str, Any] = {}
    durable_release([42], [state], ReleaseSpec("employees", KEY, 0.5), counter()[1], [], now=1000.0)
    assert list(state["r"]["employees"]) == [release_id(KEY, "employees", 42)]
    assert state["b"]["employees"] == [0.5, 1000.0]
    assert release_id(KEY, "employees", 42) != release_id(KEY, "other_field", 42)
    assert release_id(KEY, "employees", 42) != release_id(derive_release_key(bytes(32)), "employees", 42)


def test_a_spent_budget_suppresses_new_values_but_re_releases_stay_free() -> None:
    state: dict[str, Any] = {}
    spec = ReleaseSpec("v", KEY, 1.0, budget=2.0)
    suppressed: list[int] = []
    out = durable_release([1.0, 2.0, 3.0, 1.0], [state] * 4, spec, counter()[1], suppressed)
    assert out[2] is None and suppressed == [2]
    assert out[0] == out[3] is not None  # the first value again: no new spend
    assert state["b"]["v"][0] == 2.0
    later: list[int] = []
    assert durable_release([2.0, 4.0], [state, state], spec, counter()[1], later)[1] is None
    assert later == [1]


def test_a_budget_window_renews() -> None:
    state: dict[str, Any] = {}
    spec = ReleaseSpec("v", KEY, 1.0, budget=1.0, window_s=100.0)
    assert durable_release([1.0], [state], spec, counter()[1], [], now=0.0)[0] is not None
    assert durable_release([2.0], [state], spec, counter()[1], [], now=50.0)[0] is None
    assert durable_release([2.0], [state], spec, counter()[1], [], now=150.0)[0] is not None


def test_keyless_values_are_noised_independently() -> None:
    calls, draw = counter()
    out = durable_release([5.0, 5.0], [None, None], ReleaseSpec("v", KEY, 1.0), draw, [])
    assert calls == [[5.0, 5.0]] and out[0] != out[1]


def test_the_laplace_transform_uses_the_context_states_and_reports_suppressions() -> None:
    ctx = BuildContext(KeyRing({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID))
    rule = LaplaceRule(transform="laplace", epsilon=1.0, lower=0, upper=1000, budget=1.0)
    template = rule.build(ctx)
    assert isinstance(template, Laplace) and template.forces_nullable
    assert template.output_type("double", "lifetime_value") == "double"
    bound = template.bind("double")
    assert "budget=1" in bound.label
    state: dict[str, Any] = {}
    first = BatchContext((ALICE,), (state,))
    [noisy] = bound.apply([500.0], first)
    second = BatchContext((ALICE, ALICE), (state, state))
    out = bound.apply([500.0, 600.0], second)
    assert out == [noisy, None]
    assert second.notes == [(1, SUPPRESSED_BUDGET)]
    # A transform built again (a new schema version, another process) finds the same release.
    rebuilt = rule.build(ctx)
    rebuilt.output_type("double", "lifetime_value")
    assert rebuilt.bind("double").apply([500.0], BatchContext((ALICE,), (state,))) == [noisy]


def test_randomized_response_has_the_same_budget_fields() -> None:
    ctx = BuildContext(KeyRing({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID))
    rule = RandomizedResponseRule(transform="randomized_response", epsilon=1.0, budget=3.0, budget_window_days=30)
    built = rule.build(ctx)
    assert built.forces_nullable and "budget=3/30d" in built.label


@pytest.mark.parametrize("budget", [0, -1.0, float("nan"), float("inf")])
def test_budgets_must_be_finite_and_positive(budget: float) -> None:
    with pytest.raises(ValueError, match="budget"):
        LaplaceRule(transform="laplace", epsilon=1.0, lower=0, upper=1, budget=budget)
