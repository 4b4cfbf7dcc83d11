"""``date_shift``: move every date and timestamp of a data subject by one secret, per-subject offset.

Parameters: ``max_days`` (required, 1..36500): the offset has a whole-day part drawn uniformly from the
``2 * max_days`` days in ``[-max_days, -1]`` and ``[1, max_days]`` (never 0, so no date is released unshifted)
and a sub-day part drawn uniformly from the 86,400 seconds of a day. ``key`` (key id, default: the active
tokenization key; a purpose-separated key is derived from it with HKDF-SHA256, info
``crm-anonymizer/date_shift/v1``, so the shift reveals nothing about tokens and vice versa).

The offset of a subject comes from HMAC-SHA256(derived key, subject key): the first 64 bits of the MAC,
modulo ``2 * max_days``, give the days, the next 64 bits, modulo 86,400, the seconds (biases below 2^-40). The
subject key is the source record's key (the core passes it in ``BatchContext.subject_keys``). So every field of
one subject that uses the same key and ``max_days`` moves by the same offset, in every event: dates (day
resolution) by the day part, timestamps by the day part plus the seconds. Intervals between timestamps of a
subject survive exactly, intervals between dates exactly, between a date and a timestamp to within a day;
absolute dates and the time of day do not. A record without a key (empty subject key) cannot be shifted: the
event is dead-lettered (``transform.failed``).

Types (the output type is the input type): the encodings ``generalize`` handles: Debezium/Connect dates
(``int`` days, ``io.debezium.time.Date``), ``io.debezium.time.Timestamp`` / ``MicroTimestamp`` /
``NanoTimestamp`` and Connect timestamps (``long`` millis/micros/nanos), Avro ``date`` and ``timestamp-*`` /
``local-timestamp-*`` logical types (decoded by fastavro into ``date`` / ``datetime``), and the ISO strings
``io.debezium.time.ZonedTimestamp`` (shifted as a timestamp, its UTC offset kept) / ``IsoDate`` (as a date).

Privacy meaning: hides absolute dates (a birth date or visit day can identify a person) while keeping intervals
per subject. It is not strong protection on its own: the offset is bounded, so a date is known to within
``max_days``, and one known true date or time of a subject reveals that subject's offset for all its dates.
In a change stream the event time is such a known time: a shifted field that tracks it (``updated_at``,
``LastModifiedDate``) gives the offset away to within the granularity of any kept envelope time or Kafka
timestamp. ``policy lint`` refuses a date_shift in a source whose kept event times are finer than the shift's
range (``time.shift_exposed``); shift fields that do not track the event (a birth date) only where the event
times are coarse or dropped, and generalize the rest::

    fields:
      birth_date: {transform: date_shift, max_days: 180}
      created_at: {transform: date_shift, max_days: 180}     # same subject, same shift as birth_date
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable, Sequence
from hashlib import sha256
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field

from streams.avro.types import AvroType, base_name, logical_name, type_label
from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.transforms.base import INT_RANGE, LONG_RANGE, BatchContext, Transform, wrong_type
from streams.transforms.generalize import DATE_LOGICALS, DAYS, ISO_STRINGS, MICROS, MILLIS, NANOS
from streams.transforms.rule import BuildContext, RuleBase

HKDF_INFO = b"crm-anonymizer/date_shift/v1"
MAX_DAYS_LIMIT = 36_500
SECONDS_PER_DAY = 86_400
# Stored number per day (dates) or per second (timestamps), by encoding.
_PER_DAY = dict.fromkeys(DAYS, 1)
_PER_SECOND = {**dict.fromkeys(MILLIS, 1_000), **dict.fromkeys(MICROS, 1_000_000), **dict.fromkeys(NANOS, 10**9)}


def derive_shift_key(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(master_key)


def offset_from_mac(digest: bytes, max_days: int) -> int:
    """Map a MAC uniformly onto the nonzero whole days in [-max_days, max_days]."""
    n = int.from_bytes(digest[:8], "big") % (2 * max_days)
    return n - max_days if n < max_days else n - max_days + 1


def seconds_from_mac(digest: bytes) -> int:
    """The sub-day part of the offset: the next 64 bits of the MAC onto [0, 86400) seconds."""
    return int.from_bytes(digest[8:16], "big") % SECONDS_PER_DAY


def _failed(detail: str) -> AnonymizationError:
    return AnonymizationError(ReasonCode.TRANSFORM_FAILED, detail)


class DateShift(Transform):
    name = "date_shift"
    accepts = frozenset({"int", "long", "string"})

    def __init__(self, master_key: bytes, key_id: str, max_days: int) -> None:
        if not 1 <= max_days <= MAX_DAYS_LIMIT:
            raise ValueError(f"date_shift max_days must be between 1 and {MAX_DAYS_LIMIT}")
        if len(master_key) < 16:
            raise ValueError("date_shift key must be at least 128 bits")
        self._master_key = master_key
        self._mac = hmac.new(derive_shift_key(master_key), digestmod=sha256)
        self.key_id = key_id
        self.max_days = max_days
        self._logical = ""
        self._base = ""

    def __repr__(self) -> str:  # never the key
        return f"DateShift(max_days={self.max_days}, key_id={self.key_id!r}, logical={self._logical!r})"

    @property
    def label(self) -> str:
        return f"date_shift(max_days={self.max_days},key={self.key_id})"

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        logical = logical_name(input_type)
        if logical not in DATE_LOGICALS:
            raise PolicyError(f"field {path!r}: date_shift needs a date or timestamp, got {type_label(input_type)}")
        return input_type

    def bind(self, input_type: AvroType) -> Transform:
        bound = DateShift(self._master_key, self.key_id, self.max_days)
        bound._logical = logical_name(input_type) or ""
        bound._base = base_name(input_type)
        return bound

    def _digest(self, subject: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(subject)
        return mac.digest()

    def offset_days(self, subject: bytes) -> int:
        """The day part of the subject's shift: nonzero, within ±max_days, the same on every call."""
        return offset_from_mac(self._digest(subject), self.max_days)

    def offset(self, subject: bytes) -> tuple[int, int]:
        """The subject's shift: (days, seconds), days nonzero within ±max_days, seconds in [0, 86400)."""
        digest = self._digest(subject)
        return offset_from_mac(digest, self.max_days), seconds_from_mac(digest)

    def offset_seconds(self, subject: bytes) -> int:
        """The whole shift of a timestamp, in seconds."""
        days, seconds = self.offset(subject)
        return days * SECONDS_PER_DAY + seconds

    def _shifter(self) -> Callable[[Any, tuple[int, int]], Any]:
        logical = self._logical
        low, high = INT_RANGE if self._base == "int" else LONG_RANGE
        per_day, per_second = _PER_DAY.get(logical), _PER_SECOND.get(logical)
        is_date = logical in DAYS or logical == "io.debezium.time.IsoDate"

        def shift(value: Any, offset: tuple[int, int]) -> Any:
            days, seconds = offset
            delta = dt.timedelta(days=days) if is_date else dt.timedelta(days=days, seconds=seconds)
            if isinstance(value, dt.datetime):  # fastavro's datetime for Avro timestamp logical types
                if logical in ISO_STRINGS:
                    raise wrong_type("date_shift", value, "ISO-8601 string")
                return value + dt.timedelta(days=days, seconds=seconds)
            if isinstance(value, dt.date):  # fastavro's date for the Avro date logical type
                if logical in ISO_STRINGS:
                    raise wrong_type("date_shift", value, "ISO-8601 string")
                return value + dt.timedelta(days=days)
            if isinstance(value, bool):
                raise wrong_type("date_shift", value, "date or timestamp")
            if isinstance(value, int) and (per_day or per_second):
                if per_day:
                    shifted = value + days * per_day
                else:
                    assert per_second is not None
                    shifted = value + (days * SECONDS_PER_DAY + seconds) * per_second
                if not low <= shifted <= high:
                    raise _failed(f"date_shift result is out of the {self._base} range")
                return shifted
            if isinstance(value, str) and logical in ISO_STRINGS:
                return _shift_iso(value, delta, is_date)
            raise wrong_type("date_shift", value, "date or timestamp")

        return shift

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        subjects = ctx.subject_keys
        if len(subjects) != len(values) or not all(subjects):
            raise _failed("date_shift needs a subject key")
        shift = self._shifter()
        offsets: dict[bytes, tuple[int, int]] = {}
        out: list[Any] = []
        for value, subject in zip(values, subjects, strict=True):
            offset = offsets.get(subject)
            if offset is None:
                offset = offsets[subject] = self.offset(subject)
            try:
                out.append(shift(value, offset))
            except OverflowError:
                raise _failed("date_shift result is out of the date range") from None
        return out


def _shift_iso(value: str, delta: dt.timedelta, is_date: bool) -> str:
    """An ISO-8601 date (IsoDate) or zoned timestamp (ZonedTimestamp), shifted; the UTC offset is kept."""
    try:
        if is_date or len(value) == 10:  # a bare date (also sent as a ZonedTimestamp by some connectors)
            return (dt.date.fromisoformat(value[:10]) + dt.timedelta(days=delta.days)).isoformat() + value[10:]
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise wrong_type("date_shift", value, "ISO-8601 date or timestamp string") from None
    text = (moment + delta).isoformat()
    return text.removesuffix("+00:00") + "Z" if value.endswith("Z") else text


class DateShiftRule(RuleBase):
    transform: Literal["date_shift"]
    max_days: int = Field(ge=1, le=MAX_DAYS_LIMIT)
    key: str | None = Field(None, description="Key id; defaults to the active tokenization key.")

    def build(self, ctx: BuildContext) -> Transform:
        key_id, material = ctx.keyring.get(self.key)
        return DateShift(material, key_id, self.max_days)

    def key_refs(self) -> tuple[str | None, ...]:
        return (self.key,)
