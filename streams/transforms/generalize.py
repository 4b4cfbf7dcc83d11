"""``generalize``: replace a precise value by a coarser one.

Exactly one of:
- ``to: year | quarter | month`` for dates and timestamps (Avro ``date``/``timestamp-*`` logical types and the
  Debezium/Connect time types). ``year`` gives an ``int`` (1987), ``quarter`` a string ("1987-Q2"),
  ``month`` a string ("1987-04").
- ``bucket_width: W`` for numbers: the lower bound of the bucket of width W, same numeric type.
- ``prefix_length: N`` for strings such as postal codes: the first N characters ("94107" -> "941").

Privacy meaning: k-anonymity style coarsening; many subjects share each output value. Whether the chosen
granularity is coarse enough depends on the population: review it with the data owner.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import PositiveFloat, PositiveInt, model_validator

from streams.avro.types import AvroType, base_name, logical_name, type_label
from streams.errors import PolicyError
from streams.transforms.base import BatchContext, Transform, wrong_type
from streams.transforms.rule import BuildContext, RuleBase

EPOCH_DATE = dt.date(1970, 1, 1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Connect/Debezium semantic names -> how to turn the stored number into a date.
DAYS = {"date", "io.debezium.time.Date", "org.apache.kafka.connect.data.Date"}
MILLIS = {
    "timestamp-millis",
    "local-timestamp-millis",
    "io.debezium.time.Timestamp",
    "org.apache.kafka.connect.data.Timestamp",
}
MICROS = {"timestamp-micros", "local-timestamp-micros", "io.debezium.time.MicroTimestamp"}
NANOS = {"timestamp-nanos", "io.debezium.time.NanoTimestamp"}
ISO_STRINGS = {"io.debezium.time.ZonedTimestamp", "io.debezium.time.IsoDate"}
DATE_LOGICALS = DAYS | MILLIS | MICROS | NANOS | ISO_STRINGS


def _to_date(value: object, logical: str) -> dt.date:
    # fastavro already turns Avro logical types into date/datetime; Connect semantic names stay numbers.
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise wrong_type("generalize", value, "date or timestamp")
    if isinstance(value, int):
        if logical in DAYS:
            return EPOCH_DATE + dt.timedelta(days=value)
        divisor = 1_000 if logical in MILLIS else 1_000_000 if logical in MICROS else 1_000_000_000
        return (EPOCH + dt.timedelta(seconds=value / divisor)).date()
    if isinstance(value, str) and logical in ISO_STRINGS:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError as exc:
            raise wrong_type("generalize", value, "ISO-8601 date string") from exc
    raise wrong_type("generalize", value, "date or timestamp")


class Generalize(Transform):
    name = "generalize"
    accepts = frozenset({"int", "long", "float", "double", "string"})

    def __init__(
        self, to: str | None = None, bucket_width: float | None = None, prefix_length: int | None = None
    ) -> None:
        self.to = to
        self.bucket_width = bucket_width
        self.prefix_length = prefix_length
        self._logical: str = ""

    @property
    def label(self) -> str:
        if self.to:
            return f"generalize(to={self.to})"
        if self.bucket_width is not None:
            return f"generalize(bucket_width={self.bucket_width:g})"
        return f"generalize(prefix_length={self.prefix_length})"

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        base, logical = base_name(input_type), logical_name(input_type)
        if self.to:
            if logical not in DATE_LOGICALS:
                raise PolicyError(
                    f"field {path!r}: generalize to={self.to} needs a date or timestamp, got {type_label(input_type)}"
                )
            return "int" if self.to == "year" else "string"
        if self.bucket_width is not None:
            if base not in ("int", "long", "float", "double") or logical:
                raise PolicyError(f"field {path!r}: bucket_width needs a plain number, got {type_label(input_type)}")
            return base
        if base != "string" or logical:
            raise PolicyError(f"field {path!r}: prefix_length needs a string, got {type_label(input_type)}")
        return "string"

    def bind(self, input_type: AvroType) -> Transform:
        """A copy that knows the field's logical type (how stored numbers map to dates)."""
        bound = Generalize(self.to, self.bucket_width, self.prefix_length)
        bound._logical = logical_name(input_type) or ""
        return bound

    def _one(self) -> Callable[[Any], Any]:
        if self.to:
            logical, to = self._logical, self.to

            def date_part(value: Any) -> Any:
                day = _to_date(value, logical)
                if to == "year":
                    return day.year
                if to == "quarter":
                    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
                return f"{day.year}-{day.month:02d}"

            return date_part
        if self.bucket_width is not None:
            width = self.bucket_width

            def bucket(value: Any) -> Any:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise wrong_type("generalize", value, "number")
                if isinstance(value, float) and not math.isfinite(value):
                    raise wrong_type("generalize", value, "finite number")
                low = math.floor(value / width) * width
                return int(low) if isinstance(value, int) else float(low)

            return bucket
        length = self.prefix_length or 0

        def prefix(value: Any) -> Any:
            if not isinstance(value, str):
                raise wrong_type("generalize", value, "string")
            return value[:length]

        return prefix

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        one = self._one()
        return [one(v) for v in values]


class GeneralizeRule(RuleBase):
    transform: Literal["generalize"]
    to: Literal["year", "quarter", "month"] | None = None
    bucket_width: PositiveFloat | None = None
    prefix_length: PositiveInt | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> GeneralizeRule:
        chosen = [x for x in (self.to, self.bucket_width, self.prefix_length) if x is not None]
        if len(chosen) != 1:
            raise ValueError("generalize needs exactly one of to, bucket_width, prefix_length")
        return self

    def build(self, ctx: BuildContext) -> Transform:
        return Generalize(to=self.to, bucket_width=self.bucket_width, prefix_length=self.prefix_length)
