"""No record stops the pipeline: every record-level failure becomes one dead letter and one audit event."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.audit import SourcePosition
from streams.errors import ReasonCode
from streams.keys import KeyRing
from streams.memory_sink import MemorySink
from streams.policy.loader import LoadedPolicy
from streams.processor.pipeline import Pipeline

from ..support import CONTACTS_TOPIC, contact_envelope, contact_row
from .test_pipeline import AUDIT_TOPIC, DLQ_TOPIC, OUT_CONTACTS, Harness

SOURCE_HEADERS = ("crm-anonymizer-source-topic", "crm-anonymizer-source-partition", "crm-anonymizer-source-offset")


class SizedHarness(Harness):
    """The pipeline over a sink that refuses records over ``limit`` bytes, with the same limit configured."""

    limit = 20_000

    def make_pipeline(self, registry: Any) -> Pipeline:
        self.sink = MemorySink(max_record_bytes=self.limit)
        pipeline = super().make_pipeline(registry)
        pipeline._max_record_bytes = self.limit
        return pipeline


@pytest.fixture
def harness(loaded_policy: LoadedPolicy, keyring: KeyRing) -> Harness:
    return SizedHarness(loaded_policy, keyring)


def good(harness: Harness, i: int) -> Any:
    return harness.event(CONTACTS_TOPIC, {"id": i}, contact_envelope("c", None, contact_row(id=i)))


def accounted(harness: Harness, n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every input has one audit; the letters decode; returns (audits, letters)."""
    audits = harness.audits()
    assert len(audits) == n
    assert len({(a["source_topic"], a["source_partition"], a["source_offset"]) for a in audits}) == n
    return audits, [letter for _, letter in harness.letters()]


def test_schema_id_beyond_int32_is_dead_lettered(harness: Harness) -> None:
    """The reported crash: wire read the id unsigned, the dead-letter schema stores a signed int."""
    frame = b"\x00" + (2**31 + 5).to_bytes(4, "big") + b"\x02"
    stats = harness.process([good(harness, 1), harness.raw(CONTACTS_TOPIC, frame, frame), good(harness, 2)])
    assert (stats.published, stats.dead_lettered) == (2, 1)
    _, letters = accounted(harness, 3)
    assert letters[0]["reason_code"] == str(ReasonCode.UNKNOWN_SCHEMA_ID)
    assert letters[0]["key_schema_id"] is None


def test_an_output_over_the_size_limit_is_dead_lettered_and_its_letter_falls_back(harness: Harness) -> None:
    """``city: keep`` passes a 50 kB value: the output and the sealed raw record are both over the limit."""
    huge = harness.event(CONTACTS_TOPIC, {"id": 9}, contact_envelope("c", None, contact_row(id=9, city="L" * 50_000)))
    stats = harness.process([good(harness, 1), huge, good(harness, 2)])
    assert (stats.published, stats.dead_lettered) == (2, 1)
    _, letters = accounted(harness, 3)
    (letter,) = letters
    assert letter["reason_code"] == str(ReasonCode.RECORD_TOO_LARGE)
    assert letter["encrypted_value"] is None  # it would not fit: the letter says where the raw record is
    assert "stays at its source position" in letter["reason_detail"]
    assert all(len(s.value or b"") <= SizedHarness.limit for s in harness.sink.sent)


def test_a_dead_letter_that_does_not_encode_falls_back_to_the_minimal_form(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = harness.sealer.record

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**original(*args, **kwargs), "value_schema_id": 2**40}  # not an Avro int

    monkeypatch.setattr(harness.sealer, "record", broken)
    bad = harness.raw(CONTACTS_TOPIC, b"\x01bad-frame", b"\x01bad-frame")
    stats = harness.process([bad, good(harness, 1)])
    assert (stats.published, stats.dead_lettered) == (1, 1)
    _, (letter,) = accounted(harness, 2)
    assert letter["reason_code"] == str(ReasonCode.BAD_MAGIC_BYTE)
    assert letter["value_schema_id"] is None
    assert "not encodable" in letter["reason_detail"]
    assert (
        harness.sealer.open(letter["encrypted_value"], SourcePosition(bad.topic, bad.partition, bad.offset), "value")
        == b"\x01bad-frame"
    )


def test_an_unforeseen_transform_error_fails_its_record_only(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import streams.core

    real = streams.core.apply_plan

    def flaky(plan: Any, rows: Any, out: Any, subjects: Any, *args: Any) -> None:
        if any(isinstance(r, dict) and r.get("city") == "Poison" for r in rows):
            raise OverflowError("value 1e999 quoted by a library")
        real(plan, rows, out, subjects, *args)

    monkeypatch.setattr(streams.core, "apply_plan", flaky)
    poison = harness.event(CONTACTS_TOPIC, {"id": 7}, contact_envelope("c", None, contact_row(id=7, city="Poison")))
    stats = harness.process([good(harness, 1), poison, good(harness, 2)])
    assert (stats.published, stats.dead_lettered) == (2, 1)
    _, (letter,) = accounted(harness, 3)
    assert letter["reason_code"] == str(ReasonCode.TRANSFORM_FAILED)
    assert "1e999" not in letter["reason_detail"] and "OverflowError" in letter["reason_detail"]


def test_an_unforeseen_decode_error_fails_its_record_only(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import streams.processor.pipeline as pipeline_module

    real = pipeline_module.wire.decode_body
    calls = {"n": 0}

    def once_broken(body: bytes, parsed: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("a library bug")
        return real(body, parsed)

    monkeypatch.setattr(pipeline_module.wire, "decode_body", once_broken)
    stats = harness.process([good(harness, 1), good(harness, 2)])
    assert (stats.published, stats.dead_lettered) == (1, 1)
    _, (letter,) = accounted(harness, 2)
    assert letter["reason_code"] == str(ReasonCode.INTERNAL_ERROR)


def test_an_audit_that_does_not_encode_falls_back_to_the_minimal_audit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = harness.pipeline._audit_encoder
    real = encoder.encode

    def picky(record: dict[str, Any], tail_key: Any) -> bytes:
        if record["outcome"] == "PUBLISHED" and tail_key != ("minimal",):
            raise ValueError("cannot encode")
        return real(record, tail_key)

    monkeypatch.setattr(encoder, "encode", picky)
    stats = harness.process([good(harness, 1)])
    assert stats.published == 1
    (audit,) = harness.audits()
    assert (audit["outcome"], audit["field_actions"], audit["operation"]) == ("PUBLISHED", [], None)


def test_every_output_audit_and_letter_names_its_source_position(harness: Harness) -> None:
    records = [good(harness, 1), harness.raw(CONTACTS_TOPIC, b"\x00\x00", None)]
    harness.process(records)
    for sent in harness.sink.sent:
        headers = dict(sent.headers)
        assert all(name in headers for name in SOURCE_HEADERS), sent.topic
        offset = int(headers["crm-anonymizer-source-offset"])
        assert offset in {r.offset for r in records}
        assert headers["crm-anonymizer-source-topic"] == CONTACTS_TOPIC.encode()
    assert {s.topic for s in harness.sink.sent} == {OUT_CONTACTS, AUDIT_TOPIC, DLQ_TOPIC}


def test_reject_dead_letters_without_decoding(harness: Harness) -> None:
    from streams.errors import AnonymizationError

    error = AnonymizationError(ReasonCode.PROCESSOR_CRASHED, "the pipeline process died on this record")
    stats = asyncio.run(harness.pipeline.reject([good(harness, 1)], error))
    assert (stats.published, stats.dead_lettered, stats.audited) == (0, 1, 1)
    (audit,) = harness.audits()
    assert audit["reason_code"] == str(ReasonCode.PROCESSOR_CRASHED)
