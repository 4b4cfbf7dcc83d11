"""Envelope metadata under policy: coarsening arithmetic, defaults per kind, overrides, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from streams.envelope.debezium import compile_envelope
from streams.envelope.metadata import (
    KAFKA_TIMESTAMP,
    MetaAction,
    MetaField,
    coarsen_epoch,
    kafka_timestamp_action,
    output_timestamp,
    resolve,
)
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.model import MetadataPolicy, SourcePolicy

from ..support import CONTACTS_TOPIC, load_avsc

MOMENT = dt.datetime(2025, 10, 9, 8, 53, 12, 345678, tzinfo=dt.UTC)
MS = int(MOMENT.timestamp() * 1000)


@pytest.mark.parametrize(
    ("granularity", "start"),
    [
        ("second", dt.datetime(2025, 10, 9, 8, 53, 12, tzinfo=dt.UTC)),
        ("minute", dt.datetime(2025, 10, 9, 8, 53, tzinfo=dt.UTC)),
        ("hour", dt.datetime(2025, 10, 9, 8, tzinfo=dt.UTC)),
        ("day", dt.datetime(2025, 10, 9, tzinfo=dt.UTC)),
        ("week", dt.datetime(2025, 10, 6, tzinfo=dt.UTC)),  # the Monday
        ("month", dt.datetime(2025, 10, 1, tzinfo=dt.UTC)),
    ],
)
def test_coarsen_floors_to_the_start_in_every_unit(granularity: str, start: dt.datetime) -> None:
    seconds = int(start.timestamp())
    assert coarsen_epoch(MS, "ms", granularity) == seconds * 1_000
    assert coarsen_epoch(MS * 1_000 + 678, "us", granularity) == seconds * 1_000_000
    assert coarsen_epoch(MS * 1_000_000 + 678_901, "ns", granularity) == seconds * 1_000_000_000


def test_coarsen_before_the_epoch_floors_downwards() -> None:
    assert coarsen_epoch(-1, "ms", "hour") == -3_600_000
    assert coarsen_epoch(-1, "ms", "month") == int(dt.datetime(1969, 12, 1, tzinfo=dt.UTC).timestamp()) * 1000


def test_defaults_coarsen_times_drop_positions_keep_technical_fields() -> None:
    policy = MetadataPolicy()
    assert resolve(policy, MetaField("envelope.ts_ms", "time")) == MetaAction("coarsen", "hour", "ms")
    assert resolve(policy, MetaField("envelope.source.lsn", "position")).label == "drop"
    assert resolve(policy, MetaField("envelope.source.table", "technical")).label == "keep"
    assert kafka_timestamp_action(source()).label == "coarsen(hour)"


def test_overrides_and_refusals() -> None:
    policy = MetadataPolicy(time="day", positions="keep", fields={"envelope.ts_ms": "keep", "envelope.ts_us": "drop"})
    assert resolve(policy, MetaField("envelope.ts_ms", "time")).label == "keep"
    assert resolve(policy, MetaField("envelope.ts_us", "time", "us")).label == "drop"
    assert resolve(policy, MetaField("envelope.source.ts_ms", "time")).label == "coarsen(day)"
    assert resolve(policy, MetaField("envelope.source.lsn", "position")).label == "keep"
    with pytest.raises(PolicyError, match="kept or dropped"):
        resolve(MetadataPolicy(fields={"envelope.source.lsn": "hour"}), MetaField("envelope.source.lsn", "position"))
    with pytest.raises(PolicyError, match="always has a timestamp"):
        kafka_timestamp_action(source(fields={KAFKA_TIMESTAMP: "drop"}))


def test_an_unknown_metadata_path_is_refused_with_a_hint() -> None:
    with pytest.raises(PolicyError, match=r"did you mean 'envelope\.ts_ms'"):
        compile_envelope(source(fields={"envelope.TS_MS": "keep"}), load_avsc(CONTACTS_TOPIC, "value"), keyring())
    with pytest.raises(PolicyError, match=r"envelope\.source\.nope"):
        compile_envelope(source(fields={"envelope.source.nope": "keep"}), load_avsc(CONTACTS_TOPIC, "value"), keyring())


def test_output_timestamp_follows_the_action() -> None:
    assert output_timestamp(MetaAction("coarsen", "hour"), MS) == MS - MS % 3_600_000
    assert output_timestamp(MetaAction("keep"), MS) == MS
    assert output_timestamp(MetaAction("coarsen", "day"), None) is None


def test_a_non_numeric_time_is_not_released() -> None:
    assert MetaAction("coarsen", "hour").apply("2025-10-09T08:53:12Z") is None
    assert MetaAction("coarsen", "hour").apply(True) is None
    assert MetaAction("keep").apply("x") == "x"


def test_debezium_output_schema_documents_coarsened_fields_and_omits_dropped_ones() -> None:
    envelope = compile_envelope(
        source(fields={"envelope.source.lsn": "keep"}), load_avsc(CONTACTS_TOPIC, "value"), keyring()
    )
    fields = {f["name"]: f for f in envelope.output_schema["fields"]}
    assert "coarsen(hour)" in fields["ts_ms"]["doc"]
    src = {f["name"]: f for f in fields["source"]["type"]["fields"]}
    assert "lsn" in src and "txId" not in src and "xmin" not in src
    assert "coarsen(hour)" in src["ts_ms"]["doc"]
    assert dict(envelope.metadata)["envelope.source.lsn"].label == "keep"
    assert (KAFKA_TIMESTAMP, "coarsen(hour)") in envelope.actions


def source(**metadata: Any) -> SourcePolicy:
    return SourcePolicy.model_validate(
        {
            "name": "contacts",
            "topic": CONTACTS_TOPIC,
            "envelope": "debezium",
            "output_topic": f"anon.{CONTACTS_TOPIC}",
            "fields": {"id": "keep"},
            "default": "drop",
            "metadata": metadata,
        }
    )


def keyring() -> KeyRing:
    return KeyRing({"k": bytes(32)}, "k")
