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


K_POLICY = """
id: k-test
version: 1
risk:
  attacker_knows:
    contacts: [city, country, birth_date]
sources:
  - name: contacts
    topic: crm.public.contacts
    envelope: debezium
    output_topic: anon.crm.public.contacts
    metadata: {time: month}
    default: drop
    fields:
      id: {transform: tokenize, scope: contact}
      city: keep
      country: keep
      birth_date: {transform: generalize, to: year}
      created_at: {transform: generalize, to: year}
      updated_at: {transform: generalize, to: year}
    k_anonymity: {k: 5, quasi_identifiers: [city, country, birth_date]}
"""


def test_the_worker_k_anonymity_is_what_the_evaluation_rates(population, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Kept city + country + birth year single out most contacts; with the real pipeline's streaming
    k-anonymity (k = 5) a published combination had at least 5 other subjects before it, and a suppressed one
    matches everyone: nobody is unique, and a guess is right at most 1 time in 6."""
    path = tmp_path / "k.yaml"
    path.write_text(K_POLICY)
    [contacts] = _run(path, population).sources
    assert contacts.linkage.unique > 0.3  # the transforms alone
    assert contacts.linkage_with_k is not None and contacts.rated is contacts.linkage_with_k
    assert contacts.linkage_with_k.unique == 0.0
    assert contacts.linkage_with_k.expected_reidentification <= 1 / 6
    assert contacts.linkage_with_k.median_k > contacts.linkage.median_k
