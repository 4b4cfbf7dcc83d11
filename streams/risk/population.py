"""The population an evaluation runs on: the generator's (default) or records read from topics by a shell.

The generator's population of ``n``: ``n`` contacts and ``n / 5`` accounts in each system (a Debezium
snapshot, then ``n / 2`` Debezium changes; Salesforce account and contact creates, then ``n / 2`` Salesforce
changes), seeds 7 and 11 as in the demo, with the marginals of ``streams.devtools.generator.marginals``. Each
event becomes the Kafka record the worker would consume: Confluent framing with the schemas of ``schemas/``,
the record timestamp set to the event time (Debezium ``ts_ms``, Salesforce ``commitTimestamp``), as Connect
and the Pub/Sub bridge do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fastavro import parse_schema

from streams.avro import wire
from streams.devtools.generator.debezium import CdcEvent, CrmCdcGenerator
from streams.devtools.generator.salesforce import ACCOUNT_TOPIC, CONTACT_TOPIC, SalesforceCdcGenerator
from streams.ports import RawRecord
from streams.risk.simulate import MemorySchemas
from streams.settings import SCHEMA_DIR


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


def generated_events(size: int) -> Iterator[CdcEvent]:
    debezium = CrmCdcGenerator(seed=7)
    yield from debezium.snapshot(size, max(1, size // 5))
    for _ in range(size // 2):
        yield from debezium.change()
    salesforce = SalesforceCdcGenerator(seed=11)
    for _ in range(max(1, size // 5)):
        yield salesforce.create(ACCOUNT_TOPIC)
    for _ in range(size):
        yield salesforce.create(CONTACT_TOPIC)
    for _ in range(size // 2):
        yield salesforce.change()


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


def generated(size: int) -> Population:
    """The generator's population of ``size`` (see the module docstring)."""
    return from_events(generated_events(size), f"generator, size {size} (seeds 7 and 11)")
