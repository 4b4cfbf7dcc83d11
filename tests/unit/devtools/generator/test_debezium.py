from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastavro import parse_schema
from fastavro.validation import validate

from streams.devtools.generator.debezium import ACCOUNTS_TOPIC, CONTACTS_TOPIC, CdcEvent, CrmCdcGenerator

from ...support import load_avsc

N = 2000


@pytest.fixture(scope="module")
def generated() -> tuple[CrmCdcGenerator, list[CdcEvent]]:
    generator = CrmCdcGenerator(seed=11)
    return generator, list(generator.events(N))


@pytest.fixture(scope="module")
def parsed_schemas() -> dict[tuple[str, str], Any]:
    return {
        (topic, part): parse_schema(load_avsc(topic, part))
        for topic in (CONTACTS_TOPIC, ACCOUNTS_TOPIC)
        for part in ("key", "value")
    }


@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 250])
def test_events_yields_exactly_n(n: int) -> None:
    assert len(list(CrmCdcGenerator(seed=3).events(n))) == n


def test_events_yields_exactly_n_for_large_n(generated: tuple[CrmCdcGenerator, list[CdcEvent]]) -> None:
    assert len(generated[1]) == N


def test_same_seed_same_events() -> None:
    a = list(CrmCdcGenerator(seed=5).events(60))
    b = list(CrmCdcGenerator(seed=5).events(60))
    c = list(CrmCdcGenerator(seed=6).events(60))
    assert a == b
    assert a != c


def test_ops_and_tombstones(generated: tuple[CrmCdcGenerator, list[CdcEvent]]) -> None:
    _, events = generated
    ops = Counter(e.value["op"] if e.value is not None else None for e in events)
    assert {"r", "c", "u", "d", None} <= set(ops)
    assert ops[None] >= 1
    # snapshot reads come first
    first_change = next(i for i, e in enumerate(events) if e.value is None or e.value["op"] != "r")
    assert all(e.value is not None and e.value["op"] != "r" for e in events[first_change:] if e.value is not None)
    for i, event in enumerate(events):
        if event.value is None:
            previous = events[i - 1]
            assert previous.value is not None and previous.value["op"] == "d"
            assert previous.key == event.key
            assert previous.topic == event.topic
            assert event.key is not None
        elif event.value["op"] == "d":
            assert event.value["after"] is None and event.value["before"] is not None
            if i + 1 < len(events):
                assert events[i + 1].value is None
                assert events[i + 1].key == event.key


def test_both_topics_and_envelope_shapes(generated: tuple[CrmCdcGenerator, list[CdcEvent]]) -> None:
    _, events = generated
    assert {e.topic for e in events} == {CONTACTS_TOPIC, ACCOUNTS_TOPIC}
    for event in events:
        if event.value is None:
            continue
        op = event.value["op"]
        assert (event.value["before"] is None) == (op in ("r", "c"))
        assert (event.value["after"] is None) == (op == "d")
        row = event.value["after"] or event.value["before"]
        assert event.key == {"id": row["id"]}
        if event.topic == ACCOUNTS_TOPIC and op != "r":
            assert row["owner_email"] in event.value["source"]["query"]


def test_every_event_validates_against_its_schema(
    generated: tuple[CrmCdcGenerator, list[CdcEvent]], parsed_schemas: dict[tuple[str, str], Any]
) -> None:
    _, events = generated
    for event in events:
        assert validate(event.key, parsed_schemas[(event.topic, "key")])
        if event.value is not None:
            assert validate(event.value, parsed_schemas[(event.topic, "value")])


def test_identifiers_are_collected(generated: tuple[CrmCdcGenerator, list[CdcEvent]]) -> None:
    generator, events = generated
    identifiers = generator.identifiers.values
    assert len(identifiers) > 500
    assert all(isinstance(i, str) and len(i) >= 6 for i in identifiers)
    for event in events:
        if event.value is None or event.topic != CONTACTS_TOPIC:
            continue
        for row in (event.value["before"], event.value["after"]):
            if row is not None:
                assert row["email"] in identifiers
                assert row["notes"] in identifiers
                assert f"{row['first_name']} {row['last_name']}" in identifiers
    # MySQL's source.query quotes the phone and owner email of the row: both are known identifiers
    for event in events:
        if event.topic == ACCOUNTS_TOPIC and event.value is not None and event.value["op"] != "r":
            row = event.value["after"] or event.value["before"]
            assert row["owner_email"] in identifiers
            assert row["phone"] in identifiers or len(row["phone"]) < 6


def test_note_entities_are_the_values_written_into_the_notes(
    generated: tuple[CrmCdcGenerator, list[CdcEvent]],
) -> None:
    generator, events = generated
    rows = [e.value["after"] for e in events if e.topic == CONTACTS_TOPIC and e.value and e.value["op"] in "rc"]
    assert rows
    for row in rows:
        seeded = generator.note_entities[row["notes"]]
        assert {s.entity: row["notes"][s.start : s.end] for s in seeded} == {
            "PERSON": row["first_name"],
            "PHONE": row["phone"],
            "EMAIL": row["email"],
        }
