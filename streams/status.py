"""``crm-anonymizer status``: a terminal view of one worker, read from its ``/metrics`` endpoint.

Two scrapes ``interval`` seconds apart give rates (throughput, dead letters); the second gives lag per
partition and the privacy counters. Parsing and summarising are pure (text in, :class:`Status` out); only
``fetch`` does I/O and only ``render`` knows about rich.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): float(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@dataclass(frozen=True)
class PartitionRow:
    topic: str
    partition: int
    lag_messages: float
    lag_seconds: float


@dataclass(frozen=True)
class SourceRow:
    source: str
    consumed_per_s: float
    published_per_s: float
    dead_lettered_per_s: float
    dead_lettered_total: float
    budget_exhausted_total: float
    k_suppressed_total: float


@dataclass(frozen=True)
class Status:
    partitions: list[PartitionRow] = field(default_factory=list)
    sources: list[SourceRow] = field(default_factory=list)
    assigned: float = 0.0
    policy: str = ""


def _by(samples: Samples, name: str, key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for (metric, labels), value in samples.items():
        if metric == name:
            label = dict(labels).get(key, "")
            out[label] = out.get(label, 0.0) + value
    return out


def summarize(before: Samples, after: Samples, seconds: float) -> Status:
    """Rates between two scrapes ``seconds`` apart, and the state of the second one."""

    def rate(name: str) -> dict[str, float]:
        old, new = _by(before, name, "source"), _by(after, name, "source")
        return {k: max(0.0, v - old.get(k, 0.0)) / seconds if seconds > 0 else 0.0 for k, v in new.items()}

    lag = {
        (dict(labels)["topic"], int(dict(labels)["partition"])): value
        for (metric, labels), value in after.items()
        if metric == "crm_anon_consumer_lag_messages"
    }
    age = {
        (dict(labels)["topic"], int(dict(labels)["partition"])): value
        for (metric, labels), value in after.items()
        if metric == "crm_anon_consumer_lag_seconds"
    }
    consumed, published, dead = (
        rate("crm_anon_events_consumed_total"),
        rate("crm_anon_events_published_total"),
        rate("crm_anon_events_dead_lettered_total"),
    )
    dead_total = _by(after, "crm_anon_events_dead_lettered_total", "source")
    budget = _by(after, "crm_anon_dp_budget_exhausted_total", "source")
    k_supp = _by(after, "crm_anon_k_anonymity_suppressed_total", "source")
    names = sorted(set(consumed) | set(dead_total))
    info = next((dict(labels) for (metric, labels) in after if metric == "crm_anon_build_info"), {})
    return Status(
        partitions=[PartitionRow(t, p, v, age.get((t, p), 0.0)) for (t, p), v in sorted(lag.items())],
        sources=[
            SourceRow(
                n,
                consumed.get(n, 0.0),
                published.get(n, 0.0),
                dead.get(n, 0.0),
                dead_total.get(n, 0.0),
                budget.get(n, 0.0),
                k_supp.get(n, 0.0),
            )
            for n in names
        ],
        assigned=after.get(("crm_anon_assigned_partitions", ()), 0.0),
        policy=f"{info.get('policy_id', '?')} v{info.get('policy_version', '?')} ({info.get('policy_hash', '')[:12]})",
    )


def fetch(url: str, timeout_s: float = 5.0) -> Samples:
    import httpx

    response = httpx.get(f"{url.rstrip('/')}/metrics", timeout=timeout_s, trust_env=False)
    response.raise_for_status()
    return parse(response.text)


def render(status: Status, url: str, ready: Mapping[str, object] | None = None) -> object:
    """A rich renderable: a header line, the sources table and the partitions table."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    problems = (ready or {}).get("problems", [])
    state = "ready" if ready and ready.get("ready") else f"NOT READY {problems}"
    header = Text(f"{url}  policy {status.policy}  partitions assigned {status.assigned:g}  {state}")
    sources = Table(title="Sources")
    for column in ("source", "consumed/s", "published/s", "dead letters/s", "dead letters", "budget exh.", "k-suppr."):
        sources.add_column(column, justify="left" if column == "source" else "right")
    for row in status.sources:
        sources.add_row(
            row.source,
            f"{row.consumed_per_s:,.1f}",
            f"{row.published_per_s:,.1f}",
            f"{row.dead_lettered_per_s:,.2f}",
            f"{row.dead_lettered_total:,.0f}",
            f"{row.budget_exhausted_total:,.0f}",
            f"{row.k_suppressed_total:,.0f}",
        )
    partitions = Table(title="Consumer lag")
    for column in ("topic", "partition", "lag (records)", "lag (seconds)"):
        partitions.add_column(column, justify="left" if column == "topic" else "right")
    for p in status.partitions:
        partitions.add_row(p.topic, str(p.partition), f"{p.lag_messages:,.0f}", f"{p.lag_seconds:,.1f}")
    return Group(header, sources, partitions)
