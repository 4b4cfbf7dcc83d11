"""``crm-anonymizer evaluate``: run a policy over a population and measure what an attacker gets back.

The figures per source (README "Risk evaluation" explains the threat model and each number): linkage
(k distribution, share unique, expected re-identification: ``attacker``), time-field exposure and token
frequency exposure (``exposure``), utility (``utility``); across sources, token scopes that join. When a
source has a ``k_anonymity`` section, linkage is given without it (the transforms alone: the policy run with
its ``k_anonymity`` sections removed) and with it (the real pipeline's streaming k-anonymity, in order of
arrival); the other figures describe what the worker publishes, with k-anonymity.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from streams.keys import KeyRing
from streams.policy.loader import LoadedPolicy
from streams.risk.attacker import Linkage, link
from streams.risk.exposure import ScopeJoin, TimeExposure, scope_joins, time_exposure, token_exposure
from streams.risk.population import Population
from streams.risk.records import attach_clear, by_source
from streams.risk.simulate import run_policy
from streams.risk.utility import Join, Utility, joins, utility


@dataclass(slots=True)
class SourceRisk:
    name: str
    subjects: int
    events: int
    linkage: Linkage
    linkage_with_k: Linkage | None
    time_exposure: dict[str, TimeExposure]
    token_exposure: dict[str, float]
    utility: Utility

    @property
    def rated(self) -> Linkage:
        """The linkage the thresholds apply to: with the worker's k-anonymity when the policy has it."""
        return self.linkage_with_k or self.linkage


@dataclass(slots=True)
class Evaluation:
    policy_id: str
    policy_version: int
    population: str
    max_unique: float
    max_reidentification: float
    dead_lettered: int
    sources: list[SourceRisk] = field(default_factory=list)
    scope_joins: list[ScopeJoin] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)

    def failures(self) -> list[str]:
        """Why the policy is above its thresholds (empty: it passes)."""
        found = []
        for source in self.sources:
            rated = source.rated
            if rated.records and rated.unique > self.max_unique:
                found.append(f"{source.name}: {rated.unique:.1%} unique > {self.max_unique:.1%}")
            if rated.records and rated.expected_reidentification > self.max_reidentification:
                found.append(
                    f"{source.name}: {rated.expected_reidentification:.1%} expected re-identification"
                    f" > {self.max_reidentification:.1%}"
                )
        for join in self.scope_joins:
            if not join.declared and join.shared_tokens:
                found.append(f"scope {join.scope} joins {', '.join(join.fields)} without a reason in risk.joins")
        return found

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = self.failures()
        data["ok"] = not data["failures"]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def evaluate(loaded: LoadedPolicy, keyring: KeyRing, population: Population) -> Evaluation:
    policy = loaded.policy
    plain_policy = policy.model_copy(
        update={"sources": [s.model_copy(update={"k_anonymity": None}) for s in policy.sources]}
    )
    published, dead = run_policy(
        LoadedPolicy(plain_policy, loaded.content_hash, loaded.path), keyring, population.schemas, population.records
    )
    plain = by_source(policy.sources, published)
    records = plain
    if any(s.k_anonymity is not None for s in policy.sources):
        published, dead = run_policy(loaded, keyring, population.schemas, population.records)
        records = by_source(policy.sources, published)
    evaluation = Evaluation(
        policy.id,
        policy.version,
        population.description,
        policy.risk.max_unique,
        policy.risk.max_reidentification,
        dead,
    )
    for source in policy.sources:
        recs = records[source.name]
        known = policy.risk.attacker_knows.get(source.name)
        without_k = link(source, plain[source.name].subjects, known)
        with_k = None
        if source.k_anonymity is not None:
            attach_clear(recs, plain[source.name])
            with_k = link(source, recs.subjects, known)
        evaluation.sources.append(
            SourceRisk(
                source.name,
                len(recs.subjects),
                len(recs.events),
                without_k,
                with_k,
                time_exposure(recs),
                token_exposure(recs),
                utility(recs),
            )
        )
    evaluation.scope_joins = scope_joins(records, policy.risk.joins)
    evaluation.joins = joins(records)
    return evaluation


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return lines


def render_text(evaluation: Evaluation) -> str:
    lines = [
        f"policy {evaluation.policy_id} v{evaluation.policy_version} on {evaluation.population}",
        f"thresholds: unique <= {evaluation.max_unique:.1%}, expected re-identification"
        f" <= {evaluation.max_reidentification:.1%} (prosecutor holding the raw quasi-identifiers of everyone)",
        "",
    ]
    rows = []
    for s in evaluation.sources:
        for label, linkage in (("transforms", s.linkage), ("with k", s.linkage_with_k)):
            if linkage is None:
                continue
            times = max((t.exposed for t in s.time_exposure.values()), default=0.0)
            tokens = max(s.token_exposure.values(), default=0.0)
            rows.append(
                [
                    s.name,
                    label,
                    str(linkage.records),
                    f"{linkage.unique:.1%}",
                    f"{linkage.expected_reidentification:.1%}",
                    f"{linkage.median_k:g}",
                    f"{times:.1%}",
                    f"{tokens:.1%}",
                ]
            )
    lines += _table(("source", "output", "subjects", "unique", "re-id", "median k", "time exp.", "token exp."), rows)
    for s in evaluation.sources:
        lines.append(f"\n{s.name}: k distribution {json.dumps(s.rated.k_distribution)}")
        lines.append(f"  attacker fields: {', '.join(f'{p} ({m})' for p, m in s.rated.fields.items())}")
        for path, t in s.time_exposure.items():
            via = ", ".join(sorted(t.via, key=lambda k: -t.via[k])[:4])
            lines.append(f"  time {path}: {t.exposed:.1%} of {t.events} events within a day via {via or '-'}")
        for path, share in s.token_exposure.items():
            lines.append(f"  tokens {path}: {share:.1%} labelled by rank matching")
        for path, err in s.utility.count_error.items():
            lines.append(f"  count by {path}: worst group error {err:.2%}")
        for what, err in s.utility.sum_error.items():
            lines.append(f"  sum of {what}: worst group (>= 100) error {err:.2%}")
        for what, err in s.utility.total_sum_error.items():
            lines.append(f"  total of {what}: error {err:.2%}")
        for what, share in s.utility.noise_sd_of_mean.items():
            n = s.utility.group_within_tolerance[what]
            lines.append(
                f"  noise on {what}: sd {share:.1%} of the mean; group sums within 5% (one sd) from {n} records"
            )
    if evaluation.joins:
        lines.append("\njoins (share of values finding a match: raw / published)")
        for j in evaluation.joins:
            lines.append(f"  {j.left} -> {j.right} ({j.scope}): {j.raw_match:.1%} / {j.published_match:.1%}")
    for scope in evaluation.scope_joins:
        state = "declared" if scope.declared else "NOT declared"
        lines.append(f"scope {scope.scope}: {', '.join(scope.fields)} share {scope.shared_tokens} tokens ({state})")
    failures = evaluation.failures()
    lines.append("")
    lines += [f"FAIL: {f}" for f in failures]
    lines.append("OK: within the policy's risk thresholds" if not failures else f"FAILED: {len(failures)} finding(s)")
    return "\n".join(lines)
