"""``date_shift``: move every date and timestamp of a data subject by one secret, per-subject number of days.

Parameters: ``max_days`` (required, 1..36500): the offset is drawn uniformly from the ``2 * max_days`` whole
days in ``[-max_days, -1]`` and ``[1, max_days]``; it is never 0, so no value is released unshifted. ``key``
(key id, default: the active tokenization key; a purpose-separated key is derived from it with HKDF-SHA256,
info ``crm-anonymizer/date_shift/v1``, so the shift reveals nothing about tokens and vice versa).

The offset of a subject is HMAC-SHA256(derived key, subject key) reduced modulo ``2 * max_days`` (first 64 bits
of the MAC: the bias is below 2^-40), where the subject key is the source record's key (the core passes it in
``BatchContext.subject_keys``). So every field of one subject that uses the same key and ``max_days`` moves by
the same number of days, in every event: intervals (age at signup, time between two orders of one customer,
weekday differences) survive exactly, while absolute dates do not. Whole days keep the time of day.
A record without a key (empty subject key) cannot be shifted: the event is dead-lettered (``transform.failed``).

Types (the output type is the input type): the encodings ``generalize`` handles: Debezium/Connect dates
(``int`` days, ``io.debezium.time.Date``), ``io.debezium.time.Timestamp`` / ``MicroTimestamp`` /
``NanoTimestamp`` and Connect timestamps (``long`` millis/micros/nanos), Avro ``date`` and ``timestamp-*`` /
``local-timestamp-*`` logical types (decoded by fastavro into ``date`` / ``datetime``), and the ISO strings
``io.debezium.time.ZonedTimestamp`` / ``IsoDate`` (their date part is shifted; the time and offset are kept).

Privacy meaning: hides absolute dates (a birth date or visit day can identify a person) while keeping intervals
per subject. It is not strong protection on its own: the offset is bounded, so a date is known to within
``max_days``, and one known true date of a subject reveals that subject's offset for all its dates. Combine
with ``generalize`` where that matters::

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
_UNITS_PER_DAY = {
    **dict.fromkeys(DAYS, 1),
    **dict.fromkeys(MILLIS, SECONDS_PER_DAY * 1_000),
    **dict.fromkeys(MICROS, SECONDS_PER_DAY * 1_000_000),
    **dict.fromkeys(NANOS, SECONDS_PER_DAY * 1_000_000_000),
}


def derive_shift_key(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(master_key)


def offset_from_mac(digest: bytes, max_days: int) -> int:
    """Map a MAC uniformly onto the nonzero whole days in [-max_days, max_days]."""
    n = int.from_bytes(digest[:8], "big") % (2 * max_days)
    return n - max_days if n < max_days else n - max_days + 1


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

    def offset_days(self, subject: bytes) -> int:
        """The subject's shift in days: nonzero, within ±max_days, the same on every call."""
        mac = self._mac.copy()
        mac.update(subject)
        return offset_from_mac(mac.digest(), self.max_days)

    def _shifter(self) -> Callable[[Any, int], Any]:
        logical = self._logical
        low, high = INT_RANGE if self._base == "int" else LONG_RANGE
        units = _UNITS_PER_DAY.get(logical)

        def shift(value: Any, days: int) -> Any:
            if isinstance(value, dt.date):  # fastavro's date/datetime for Avro logical types (datetime too)
                if logical in ISO_STRINGS:
                    raise wrong_type("date_shift", value, "ISO-8601 string")
                return value + dt.timedelta(days=days)
            if isinstance(value, bool):
                raise wrong_type("date_shift", value, "date or timestamp")
            if isinstance(value, int) and units is not None:
                shifted = value + days * units
                if not low <= shifted <= high:
                    raise _failed(f"date_shift result is out of the {self._base} range")
                return shifted
            if isinstance(value, str) and logical in ISO_STRINGS:
                try:
                    day = dt.date.fromisoformat(value[:10])
                except ValueError:
                    raise wrong_type("date_shift", value, "ISO-8601 date string") from None
                return (day + dt.timedelta(days=days)).isoformat() + value[10:]
            raise wrong_type("date_shift", value, "date or timestamp")

        return shift

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        subjects = ctx.subject_keys
        if len(subjects) != len(values) or not all(subjects):
            raise _failed("date_shift needs a subject key")
        shift = self._shifter()
        offsets: dict[bytes, int] = {}
        out: list[Any] = []
        for value, subject in zip(values, subjects, strict=True):
            days = offsets.get(subject)
            if days is None:
                days = offsets[subject] = self.offset_days(subject)
            try:
                out.append(shift(value, days))
            except OverflowError:
                raise _failed("date_shift result is out of the date range") from None
        return out


class DateShiftRule(RuleBase):
    transform: Literal["date_shift"]
    max_days: int = Field(ge=1, le=MAX_DAYS_LIMIT)
    key: str | None = Field(None, description="Key id; defaults to the active tokenization key.")

    def build(self, ctx: BuildContext) -> Transform:
        key_id, material = ctx.keyring.get(self.key)
        return DateShift(material, key_id, self.max_days)

    def key_refs(self) -> tuple[str | None, ...]:
        return (self.key,)
