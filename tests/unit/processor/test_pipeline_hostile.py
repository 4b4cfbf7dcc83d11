"""Property: 10,000+ hostile records through the Pipeline with a real-sized sink (librdkafka's 1,000,000-byte
limit): each is audited exactly once and either published or dead-lettered, and no batch raises."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from typing import Any

from streams.devtools.hostile import hostile_variants
from streams.keys import KeyRing
from streams.policy.loader import LoadedPolicy
from streams.ports import RawRecord

from ..support import ACCOUNTS_TOPIC, CONTACTS_TOPIC, account_envelope, account_row, contact_envelope, contact_row
from .test_pipeline import AUDIT_TOPIC, DLQ_TOPIC, Harness
from .test_pipeline_poison import SizedHarness

RECORDS = 10_500
BATCH = 500


class RealSizedHarness(SizedHarness):
    limit = 1_000_000  # librdkafka's default message.max.bytes, and the worker's CRM_ANON_MAX_RECORD_BYTES


def valid(h: Harness, rng: random.Random) -> RawRecord:
    i = rng.randrange(1, 10**9)
    if rng.random() < 0.5:
        extreme = rng.choice([math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, 12.5])
        row = contact_row(id=i, lifetime_value=extreme, notes=rng.choice(["", "x" * rng.randrange(1, 5000)]))
        return h.event(CONTACTS_TOPIC, {"id": i}, contact_envelope(rng.choice("cud"), None, row))
    return h.event(ACCOUNTS_TOPIC, {"id": i}, account_envelope("c", None, account_row(id=i)))


def hostile(h: Harness, rng: random.Random) -> RawRecord:
    base = valid(h, rng)
    [(key, value, headers)] = hostile_variants([(base.key, base.value)], rng, 1)
    topic = base.topic if rng.random() < 0.97 else "not.a.policy.source"
    return RawRecord(topic, rng.randrange(3), base.offset, base.timestamp_ms, key, value, headers)


def test_hostile_records_are_each_audited_once_and_published_or_dead_lettered(
    loaded_policy: LoadedPolicy, keyring: KeyRing
) -> None:
    h = RealSizedHarness(loaded_policy, keyring)
    rng = random.Random(20261202)
    records = [hostile(h, rng) if rng.random() < 0.8 else valid(h, rng) for _ in range(RECORDS)]
    # One oversize record per batch-ful: a 1.2 MB kept string (the output cannot fit the sink).
    for i in range(0, RECORDS, 2_000):
        records[i] = h.event(CONTACTS_TOPIC, {"id": i}, contact_envelope("c", None, contact_row(city="L" * 1_200_000)))

    async def run() -> Counter[str]:
        totals: Counter[str] = Counter()
        for start in range(0, len(records), BATCH):
            stats = await h.pipeline.process(records[start : start + BATCH])
            totals.update(published=stats.published, dead_lettered=stats.dead_lettered, audited=stats.audited)
        return totals

    totals = asyncio.run(run())
    positions = [(r.topic, r.partition, r.offset) for r in records]
    assert len(set(positions)) == RECORDS
    audits = h.audits()
    audited = Counter((a["source_topic"], a["source_partition"], a["source_offset"]) for a in audits)
    assert set(audited) == set(positions) and set(audited.values()) == {1}
    outcome: dict[Any, str] = {
        (a["source_topic"], a["source_partition"], a["source_offset"]): a["outcome"] for a in audits
    }
    letters = Counter((x["source_topic"], x["source_partition"], x["source_offset"]) for _, x in h.letters())
    outputs = Counter(
        tuple(
            dict(s.headers)[k].decode()
            for k in ("crm-anonymizer-source-topic", "crm-anonymizer-source-partition", "crm-anonymizer-source-offset")
        )
        for s in h.sink.sent
        if s.topic not in (AUDIT_TOPIC, DLQ_TOPIC)
    )
    published = {p for p, o in outcome.items() if o == "PUBLISHED"}
    dead = {p for p, o in outcome.items() if o == "DEAD_LETTERED"}
    assert set(letters) == dead and set(letters.values()) <= {1}
    assert {(t, int(p), int(o)) for t, p, o in outputs} == published and set(outputs.values()) <= {1}
    assert totals["audited"] == RECORDS == totals["published"] + totals["dead_lettered"]
    assert totals["dead_lettered"] > RECORDS // 2  # the hostile share, mostly
    assert all(len(s.value or b"") <= 1_000_000 for s in h.sink.sent)
    reasons = Counter(x["reason_code"] for _, x in h.letters())
    assert {"wire.bad_magic_byte", "registry.unknown_schema_id", "kafka.record_too_large"} <= set(reasons)
