"""The port types that cross the process boundary to the pipeline process pickle to equal values."""

from __future__ import annotations

import pickle  # the test pickles its own objects, as the hand-off to the pipeline process does

from streams.ports import BatchStats, RawRecord


def test_raw_records_and_batch_stats_round_trip_through_pickle() -> None:
    record = RawRecord("crm.contacts", 2, 41, 1_760_000_000_000, b"\0key", None, [("h", b"v")])
    assert pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)) == record  # noqa: S301
    stats = BatchStats(published=1, states={b"k": b"{}"}, stages={"anonymize": 0.5})
    assert pickle.loads(pickle.dumps(stats)) == stats  # noqa: S301
