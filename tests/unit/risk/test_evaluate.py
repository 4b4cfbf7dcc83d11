"""``evaluate`` on the generator's population (fixed seeds) and ``policy lint --risk``: v2 is caught, v3 is not."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.devtools.generator.population import generated
from streams.policy.loader import load_policy
from streams.risk.evaluate import Evaluation, evaluate
from streams.risk.simulate import throwaway_keyring
from streams.settings import REPO_ROOT

V2 = REPO_ROOT / "tests" / "policies" / "crm-v2.yaml"
V3 = REPO_ROOT / "policies" / "crm.yaml"
SAMPLE = 1500


@pytest.fixture(scope="module")
def population():  # type: ignore[no-untyped-def]
    return generated(SAMPLE)


def _run(policy: object, population: object) -> Evaluation:
    return evaluate(load_policy(policy), throwaway_keyring(["k1", "e1"], "e1"), population)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def v2(population):  # type: ignore[no-untyped-def]
    return _run(V2, population)


@pytest.fixture(scope="module")
def v3(population):  # type: ignore[no-untyped-def]
    return _run(V3, population)


def test_the_population_is_the_seeded_one(population) -> None:  # type: ignore[no-untyped-def]
    again = generated(SAMPLE)
    assert [r.value for r in again.records[:50]] == [r.value for r in population.records[:50]]
    assert len(population.records) == len(again.records)


def test_v2_is_what_the_attack_found(v2: Evaluation) -> None:
    by_name = {s.name: s for s in v2.sources}
    assert set(by_name) == {"contacts", "accounts", "sfdc-contacts", "sfdc-accounts"}
    for source in v2.sources:
        assert source.subjects > 100
        assert source.linkage.unique > 0.9, source.name
        assert source.linkage.expected_reidentification > 0.9, source.name
    assert by_name["contacts"].token_exposure["last_name"] > 0.1  # rank matching labels last names
    assert by_name["contacts"].time_exposure["updated_at"].exposed > 0.9  # ts_ms gives the shifted date away
    assert {j.scope for j in v2.scope_joins if not j.declared} >= {"name", "company"}
    assert len(v2.failures()) >= 8


def test_v3_keeps_what_analysts_need(v3: Evaluation) -> None:
    by_name = {s.name: s for s in v3.sources}
    assert by_name["contacts"].utility.count_error["country"] == 0.0
    assert by_name["accounts"].utility.count_error["billing_country"] == 0.0
    join = next(j for j in v3.joins if j.left == "contacts.account_id" and j.right == "accounts.id")
    assert join.published_match == join.raw_match == 1.0
    assert not [j for j in v3.scope_joins if not j.declared]  # no scope joins Debezium and Salesforce


def test_v3_is_far_below_v2(v2: Evaluation, v3: Evaluation) -> None:
    for old, new in zip(v2.sources, v3.sources, strict=True):
        assert new.linkage.unique < 0.02, new.name
        assert new.linkage.expected_reidentification < old.linkage.expected_reidentification / 5, new.name
        assert new.linkage.median_k >= 10, new.name  # v2: 1


def test_json_has_every_figure(v3: Evaluation) -> None:
    data = json.loads(v3.to_json())
    source = data["sources"][0]
    for key in ("linkage", "time_exposure", "token_exposure", "utility"):
        assert key in source
    assert {"unique", "expected_reidentification", "k_distribution"} <= set(source["linkage"])
    assert data["ok"] == (not data["failures"])


def test_policy_lint_risk_fails_on_v2() -> None:
    result = CliRunner().invoke(
        main, ["policy", "lint", str(V2), "--schemas", str(REPO_ROOT / "schemas"), "--risk", "--risk-sample", "800"]
    )
    assert result.exit_code == 1
    assert "unique" in result.output and "ERROR: contacts" in result.output


def test_v3_lints_clean() -> None:
    result = CliRunner().invoke(main, ["policy", "lint", str(V3), "--schemas", str(REPO_ROOT / "schemas")])
    assert result.exit_code == 0, result.output
    assert "OK: 0 error(s), 0 warning(s)" in result.output
