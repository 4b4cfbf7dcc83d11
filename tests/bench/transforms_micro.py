"""Microbenchmark (not a test): microseconds per value of every transform in the demo policy, applied the way
the pipeline applies them (one call per field over a batch of values). Run:
``.venv/bin/python -m tests.bench.transforms_micro [batch]`` (``make bench-transforms``).

Values come from the synthetic generators, so costs reflect realistic inputs (notes with PII for
scrub_text, ...). Every figure is the best of several rounds. DP transforms get distinct subjects per value,
so their release cache never short-cuts a draw (the worst case). OpenDP scalar-versus-vectorized costs are
in ``tests/bench/dp_micro.py``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import defaultdict
from typing import Any

from streams.avro.types import expand, split_nullable
from streams.devtools.generator.debezium import ACCOUNTS_TOPIC, CONTACTS_TOPIC, CrmCdcGenerator
from streams.keys import KeyRing
from streams.policy.build import build_transform
from streams.policy.loader import load_policy
from streams.settings import REPO_ROOT
from streams.transforms.base import BatchContext

SCHEMAS = REPO_ROOT / "schemas" / "debezium"


def row_types(topic: str) -> dict[str, Any]:
    envelope = expand(json.loads((SCHEMAS / f"{topic}-value.avsc").read_text()))
    after = next(f for f in envelope["fields"] if f["name"] == "after")
    row, _ = split_nullable(after["type"])
    return {f["name"]: split_nullable(f["type"])[0] for f in row["fields"]}


def main(batch: int = 500, rounds: int = 5) -> None:
    keyring = KeyRing({"k1": b"k" * 32, "e1": b"e" * 32}, "k1", {"encrypt": "e1"})
    policy = load_policy(REPO_ROOT / "policies" / "crm.yaml").policy
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in CrmCdcGenerator(seed=3).events(batch * 6):
        if event.value and event.value["after"]:
            rows[event.topic].append(event.value["after"])
    results = []
    for topic in (CONTACTS_TOPIC, ACCOUNTS_TOPIC):
        source = policy.source_for_topic(topic)
        assert source is not None
        types = row_types(topic)
        for field, rule in source.fields.items():
            transform = build_transform(rule, keyring)
            if transform is None:
                continue
            transform.output_type(types[field], field)  # as the compiler does: checks the type, binds the path
            bound = transform.bind(types[field])
            values = [r[field] for r in rows[topic] if r.get(field) is not None][:batch]
            if not values:
                continue
            subjects = tuple(str(i).encode() for i in range(len(values)))
            best = math.inf
            for _ in range(rounds):
                bound = transform.bind(types[field])  # fresh per round: an empty DP release cache
                start = time.perf_counter()
                bound.apply(values, BatchContext(subjects))
                best = min(best, time.perf_counter() - start)
            results.append(
                {
                    "source": source.name,
                    "field": field,
                    "transform": bound.name,
                    "us_per_value": round(best / len(values) * 1e6, 2),
                    "values": len(values),
                }
            )
    width = max(len(r["field"]) for r in results)
    print(f"{'source':<10} {'field':<{width}} {'transform':<20} {'us/value':>9}")
    for r in results:
        print(f"{r['source']:<10} {r['field']:<{width}} {r['transform']:<20} {r['us_per_value']:>9.2f}")
    print(json.dumps({"batch": batch, "transforms": results}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
