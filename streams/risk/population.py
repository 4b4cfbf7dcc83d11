"""The population an evaluation runs on: generated events (``streams.devtools.generator.population``) or
records read from topics by a shell.

Each generated event becomes the Kafka record the worker would consume: Confluent framing with the schemas
of ``schemas/``, the record timestamp set to the event time (Debezium ``ts_ms``, Salesforce
``commitTimestamp``), as Connect and the Pub/Sub bridge do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from fastavro import parse_schema

from streams.avro import wire
from streams.ports import RawRecord
from streams.risk.simulate import MemorySchemas
from streams.settings import SCHEMA_DIR


class CdcEvent(Protocol):
    """A generated event (``streams.devtools.generator``): topic, key and value as plain values."""

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> dict[str, Any] | None: ...

    @property
    def value(self) -> dict[str, Any] | None: ...


@cache
def _schema(topic: str, part: str) -> Any:
    name = f"{topic}-{part}.avsc"
    path = next(p for p in (SCHEMA_DIR / "debezium" / name, SCHEMA_DIR / "salesforce" / name) if p.is_file())
    return json.loads(path.read_text())


@dataclass(slots=True)
class Population:
    records: list[RawRecord] = field(default_factory=list)
    schemas: MemorySchemas = field(default_factory=MemorySchemas)
    description: str = ""


def _event_time(event: CdcEvent) -> int | None:
    if event.value is None:
        return None
    header = event.value.get("ChangeEventHeader")
    return int(header["commitTimestamp"]) if header else int(event.value["ts_ms"])


def from_events(events: Iterable[CdcEvent], description: str) -> Population:
    population = Population(description=description)
    ids: dict[tuple[str, str], tuple[int, Any]] = {}
    offsets: dict[str, int] = {}
    for event in events:
        if event.value is None:
            continue  # tombstones carry a key only: nothing for an attacker to link
        frames: list[bytes] = []
        for part, body in (("key", event.key), ("value", event.value)):
            if (event.topic, part) not in ids:
                schema = _schema(event.topic, part)
                ids[(event.topic, part)] = (
                    population.schemas.add(f"{event.topic}-{part}", schema),
                    parse_schema(schema),
                )
            schema_id, parsed = ids[(event.topic, part)]
            frames.append(wire.encode(schema_id, parsed, body))
        offset = offsets.get(event.topic, 0)
        offsets[event.topic] = offset + 1
        population.records.append(RawRecord(event.topic, 0, offset, _event_time(event), frames[0], frames[1]))
    return population
