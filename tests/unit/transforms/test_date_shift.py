from __future__ import annotations

import datetime as dt
import hmac
import io
from collections import Counter
from hashlib import sha256
from itertools import pairwise
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from pydantic import TypeAdapter, ValidationError

from streams.envelope.base import subject_key
from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.transforms.base import BatchContext
from streams.transforms.date_shift import DateShift, DateShiftRule, offset_from_mac, seconds_from_mac
from streams.transforms.registry import FieldRule
from streams.transforms.rule import BuildContext

from ..support import OTHER_KEY, TEST_KEY, TEST_KEY_ID

DEBEZIUM_DATE = {"type": "int", "connect.version": 1, "connect.name": "io.debezium.time.Date"}
MICRO_TS = {"type": "long", "connect.version": 1, "connect.name": "io.debezium.time.MicroTimestamp"}
MILLIS_TS = {"type": "long", "connect.name": "io.debezium.time.Timestamp"}
NANO_TS = {"type": "long", "connect.name": "io.debezium.time.NanoTimestamp"}
AVRO_DATE = {"type": "int", "logicalType": "date"}
AVRO_TS_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}
AVRO_TS_MICROS = {"type": "long", "logicalType": "timestamp-micros"}
ZONED = {"type": "string", "connect.name": "io.debezium.time.ZonedTimestamp"}
DAY_US = 86_400 * 1_000_000

ALICE = subject_key({"id": 1})
BOB = subject_key({"id": 2})


def shifter(avro_type: Any = DEBEZIUM_DATE, max_days: int = 30, key: bytes = TEST_KEY) -> DateShift:
    s = DateShift(key, TEST_KEY_ID, max_days)
    assert s.output_type(avro_type, "birth_date") == avro_type
    bound = s.bind(avro_type)
    assert isinstance(bound, DateShift)
    return bound


def test_offset_follows_the_documented_derivation() -> None:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crm-anonymizer/date_shift/v1").derive(
        TEST_KEY
    )
    digest = hmac.new(derived, ALICE, sha256).digest()
    assert shifter().offset_days(ALICE) == offset_from_mac(digest, 30)
    assert shifter().offset(ALICE) == (offset_from_mac(digest, 30), seconds_from_mac(digest))
    assert shifter().offset_seconds(ALICE) == offset_from_mac(digest, 30) * 86_400 + seconds_from_mac(digest)


def test_the_shift_has_a_sub_day_part_so_the_time_of_day_is_not_kept() -> None:
    s = shifter(MILLIS_TS)
    seconds = [s.offset(subject_key({"id": i}))[1] for i in range(2000)]
    assert all(0 <= x < 86_400 for x in seconds)
    assert len({x // 3600 for x in seconds}) == 24  # every hour of the day occurs
    assert sum(x == 0 for x in seconds) < 5
    noon = 1_760_000_000_000 - 1_760_000_000_000 % 86_400_000 + 12 * 3_600_000
    shifted = [s.apply([noon], BatchContext((subject_key({"id": i}),)))[0] for i in range(200)]
    assert len({(x % 86_400_000) // 3_600_000 for x in shifted}) > 20  # noon lands anywhere in the day


def test_same_subject_same_offset_intervals_survive() -> None:
    s = shifter()
    values = [7300, 7301, 9000, -400]
    out = s.apply(values, BatchContext((ALICE,) * 4))
    days = s.offset_days(ALICE)
    assert out == [v + days for v in values]  # dates move by the whole-day part
    assert [b - a for a, b in pairwise(out)] == [b - a for a, b in pairwise(values)]
    # Across batches, instances and fields: the offset depends only on key, max_days and subject; timestamps
    # move by the same days plus the sub-day seconds.
    assert shifter(MICRO_TS).apply([0], BatchContext((ALICE,))) == [s.offset_seconds(ALICE) * 1_000_000]
    assert s.offset_seconds(ALICE) // 86_400 == days


def test_offsets_spread_over_the_range_and_are_never_zero() -> None:
    max_days = 10
    s = shifter(max_days=max_days)
    offsets = [s.offset_days(subject_key({"id": i})) for i in range(4000)]
    assert 0 not in offsets
    assert min(offsets) == -max_days
    assert max(offsets) == max_days
    counts = Counter(offsets)
    assert set(counts) == set(range(-max_days, 0)) | set(range(1, max_days + 1))
    # Roughly uniform: 4000 draws over 20 values, expected 200 each.
    assert all(120 < c < 280 for c in counts.values())
    assert sum(o < 0 for o in offsets) > 1500


def test_different_subjects_usually_differ() -> None:
    s = shifter(max_days=365)
    offsets = {s.offset_days(subject_key({"id": i})) for i in range(200)}
    assert len(offsets) > 150


def test_offset_range_edges() -> None:
    def digest_for(n: int) -> bytes:
        return n.to_bytes(8, "big") + bytes(24)

    assert offset_from_mac(digest_for(0), 5) == -5
    assert offset_from_mac(digest_for(4), 5) == -1
    assert offset_from_mac(digest_for(5), 5) == 1
    assert offset_from_mac(digest_for(9), 5) == 5
    assert offset_from_mac(digest_for(10), 5) == -5


def test_key_changes_the_offsets() -> None:
    a, b = shifter(max_days=365), shifter(max_days=365, key=OTHER_KEY)
    subjects = [subject_key({"id": i}) for i in range(20)]
    assert [a.offset_days(x) for x in subjects] != [b.offset_days(x) for x in subjects]


def test_batch_with_several_subjects() -> None:
    s = shifter()
    out = s.apply([100, 100, 100], BatchContext((ALICE, BOB, ALICE)))
    assert out[0] == out[2] == 100 + s.offset_days(ALICE)
    assert out[1] == 100 + s.offset_days(BOB)


@pytest.mark.parametrize(
    ("avro_type", "value", "unit"),
    [
        (MILLIS_TS, 1_760_000_000_000, 1_000),
        (MICRO_TS, 1_760_000_000_000_000, 1_000_000),
        (NANO_TS, 1_760_000_000_000_000_000, 1_000_000_000),
    ],
)
def test_connect_timestamps(avro_type: Any, value: int, unit: int) -> None:
    s = shifter(avro_type)
    (out,) = s.apply([value], BatchContext((ALICE,)))
    assert out - value == s.offset_seconds(ALICE) * unit


@pytest.mark.parametrize(
    ("avro_type", "value"),
    [
        (AVRO_DATE, dt.date(1989, 12, 27)),
        (AVRO_TS_MILLIS, dt.datetime(2025, 10, 9, 8, 53, 12, 345000, tzinfo=dt.UTC)),
        (AVRO_TS_MICROS, dt.datetime(2025, 10, 9, 8, 53, 12, 345678, tzinfo=dt.UTC)),
    ],
)
def test_avro_logical_types_as_fastavro_decodes_them(avro_type: Any, value: Any) -> None:
    s = shifter(avro_type)
    (out,) = s.apply([value], BatchContext((ALICE,)))
    assert type(out) is type(value)
    if isinstance(value, dt.datetime):
        assert out - value == dt.timedelta(seconds=s.offset_seconds(ALICE))
    else:
        assert out - value == dt.timedelta(days=s.offset_days(ALICE))
    # The output still fits the (unchanged) output type.
    record = parse_schema({"type": "record", "name": "R", "fields": [{"name": "f", "type": avro_type}]})
    buf = io.BytesIO()
    schemaless_writer(buf, record, {"f": out})
    buf.seek(0)
    assert schemaless_reader(buf, record, None) == {"f": out}


def test_zoned_timestamp_strings_keep_their_utc_offset() -> None:
    s = shifter(ZONED)
    days, shift = s.offset_days(ALICE), dt.timedelta(seconds=s.offset_seconds(ALICE))
    values = ["2025-10-09T08:53:00Z", "2025-03-30T01:30:00.123+01:00", "2025-10-09"]
    zulu, plus_one, bare = s.apply(values, BatchContext((ALICE,) * 3))
    assert zulu.endswith("Z") and plus_one.endswith("+01:00")
    for before, after in ((values[0], zulu), (values[1], plus_one)):
        moved = dt.datetime.fromisoformat(after) - dt.datetime.fromisoformat(before)
        assert moved == shift
    assert dt.date.fromisoformat(bare) - dt.date.fromisoformat(values[2]) == dt.timedelta(days=days)


def test_needs_subject_keys() -> None:
    s = shifter()
    for ctx in (BatchContext(), BatchContext((b"",)), BatchContext((ALICE,))):
        with pytest.raises(AnonymizationError) as info:
            s.apply([1, 2] if ctx.subject_keys == (ALICE,) else [1], ctx)
        assert info.value.code is ReasonCode.TRANSFORM_FAILED
        assert "subject key" in info.value.detail


@pytest.mark.parametrize(
    ("avro_type", "value"),
    [(DEBEZIUM_DATE, "1989-12-27"), (DEBEZIUM_DATE, True), (MICRO_TS, 1.5), (ZONED, "not-a-date-31337")],
)
def test_wrong_type_names_types_only(avro_type: Any, value: Any) -> None:
    with pytest.raises(AnonymizationError) as info:
        shifter(avro_type).apply([value], BatchContext((ALICE,)))
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert "31337" not in str(info.value)
    assert "1989" not in str(info.value)


def subject_with(s: DateShift, positive: bool) -> bytes:
    return next(x for i in range(100) if (s.offset_days(x := subject_key({"id": i})) > 0) == positive)


def test_out_of_range_results_fail_without_values() -> None:
    s = shifter(DEBEZIUM_DATE)
    for edge, positive in ((2**31 - 1, True), (-(2**31), False)):
        with pytest.raises(AnonymizationError) as info:
            s.apply([edge], BatchContext((subject_with(s, positive),)))
        assert info.value.code is ReasonCode.TRANSFORM_FAILED
        assert str(edge) not in str(info.value)
    d = shifter(AVRO_DATE)
    for day, positive in ((dt.date.max, True), (dt.date.min, False)):
        with pytest.raises(AnonymizationError) as info:
            d.apply([day], BatchContext((subject_with(d, positive),)))
        assert info.value.code is ReasonCode.TRANSFORM_FAILED


@pytest.mark.parametrize("avro_type", ["long", "string", {"type": "long", "logicalType": "time-micros"}, "double"])
def test_non_dates_are_policy_errors(avro_type: Any) -> None:
    with pytest.raises(PolicyError) as info:
        DateShift(TEST_KEY, TEST_KEY_ID, 30).output_type(avro_type, "after.created_at")
    assert "after.created_at" in str(info.value)


def test_rule(keyring: KeyRing) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(FieldRule)
    rule = adapter.validate_python({"transform": "date_shift", "max_days": 90})
    assert isinstance(rule, DateShiftRule)
    built = rule.build(BuildContext(keyring))
    assert isinstance(built, DateShift)
    assert built.label == f"date_shift(max_days=90,key={TEST_KEY_ID})"
    assert TEST_KEY.hex() not in repr(built)
    for bad in ({"transform": "date_shift"}, {"transform": "date_shift", "max_days": 0}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
