"""End to end on the real broker and registry: independent producer -> worker subprocess -> independent reader."""

from __future__ import annotations

import os
import struct
from typing import Any

import pytest

from streams.errors import ReasonCode
from tests.integration.support import Deployment

pytestmark = pytest.mark.integration

CANARIES = {
    "first_name": "Canaryfirst",
    "last_name": "Canarylastname",
    "email": "canary.email.7f3a@leak-test.example",
    "phone": "+1 555 0199 4242",
    "street": "42 Canary Wharf Street",
    "notes": "CANARY-NOTES call me on +1 555 0199 4242",
    "postal_code": "CANARY-PC",
}


def contact(contact_id: int, marker: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": contact_id,
        "first_name": CANARIES["first_name"],
        "last_name": CANARIES["last_name"],
        "email": CANARIES["email"],
        "phone": CANARIES["phone"],
        "birth_date": 7000,
        "street": CANARIES["street"],
        "city": "Leeds",
        "postal_code": CANARIES["postal_code"],
        "country": "GB",
        "company": "Initech",
        "job_title": marker,
        "lifetime_value": 1234.5,
        "marketing_opt_in": True,
        "notes": CANARIES["notes"],
        "account_id": 77,
        "created_at": 1_700_000_000_000_000,
        "updated_at": 1_700_000_000_000_001,
    }
    row.update(overrides)
    return row


def envelope(op: str, before: Any, after: Any) -> dict[str, Any]:
    return {
        "before": before,
        "after": after,
        "op": op,
        "ts_ms": 1_700_000_000_123,
        "ts_us": None,
        "ts_ns": None,
        "transaction": None,
        "source": {
            "version": "2.7.3.Final",
            "connector": "postgresql",
            "name": "crm",
            "ts_ms": 1_700_000_000_000,
            "snapshot": "false",
            "db": "crm",
            "sequence": None,
            "ts_us": None,
            "ts_ns": None,
            "schema": "public",
            "table": "contacts",
            "txId": 9,
            "lsn": 1234,
            "xmin": None,
        },
    }


def outputs_with_marker(dep: Deployment, marker: str) -> list[tuple[Any, Any]]:
    found = []
    for record in dep.read(dep.output_topic):
        value = dep.deserialize(record)
        image = value and (value["after"] or value["before"])
        if image and image.get("job_title") == marker:
            found.append((dep.deserialize_key(record), value))
    return found


def test_event_is_anonymized_and_readable_through_the_registry(contacts_worker: Deployment) -> None:
    dep = contacts_worker
    marker = f"marker-{os.urandom(4).hex()}"
    positions = dep.produce_avro([({"id": 4242}, envelope("c", None, contact(4242, marker)))])
    audits = dep.audits_for(positions)
    assert [a["outcome"] for a in audits] == ["PUBLISHED"]

    [(key, value)] = outputs_with_marker(dep, marker)
    after = value["after"]
    assert key["id"].startswith("tok_") and key["id"] == after["id"]
    assert after["email"].startswith("tok_") and after["last_name"].startswith("tok_")
    assert after["first_name"].startswith("C") and "*" in after["first_name"]
    assert after["birth_date"] == 1989  # 7000 days after 1970-01-01
    assert after["postal_code"] == "CAN"
    assert after["lifetime_value"] == 1000.0
    assert "street" not in after and "notes" not in after  # dropped by rule
    assert "updated_at" not in after  # uncovered by the policy: dropped (fail closed)
    assert value["op"] == "c" and "lsn" not in value["source"]  # a position: dropped by default

    # The registered output schema documents each transform.
    latest = dep.registry.get_latest_version(f"{dep.output_topic}-value")
    assert "tokenize(scope=email" in latest.schema.schema_str
    assert audits[0]["value_schema_id_out"] == latest.schema_id
    assert "updated_at" in audits[0]["uncovered_fields"]
    actions = {fa["path"]: fa["action"] for fa in audits[0]["field_actions"]}
    assert actions["email"].startswith("tokenize") and actions["street"] == "drop" and actions["updated_at"] == "drop"
    assert audits[0]["policy_hash"] and audits[0]["policy_id"] == "crm-default"


def test_same_identifier_same_token_and_different_identifier_different_token(contacts_worker: Deployment) -> None:
    dep = contacts_worker
    marker = f"tokens-{os.urandom(4).hex()}"
    positions = dep.produce_avro(
        [
            ({"id": 1}, envelope("c", None, contact(1, marker, email="same.person@example.org"))),
            ({"id": 2}, envelope("c", None, contact(2, marker, email="same.person@example.org"))),
            ({"id": 3}, envelope("c", None, contact(3, marker, email="other.person@example.org"))),
        ]
    )
    dep.audits_for(positions)
    outputs = outputs_with_marker(dep, marker)
    assert len(outputs) == 3
    emails = sorted(v["after"]["email"] for _, v in outputs)
    ids = {k["id"] for k, _ in outputs}
    assert len(ids) == 3
    assert len(set(emails)) == 2
    assert emails.count(max(set(emails), key=emails.count)) == 2


def test_before_and_after_images_get_the_same_tokens(contacts_worker: Deployment) -> None:
    dep = contacts_worker
    marker = f"update-{os.urandom(4).hex()}"
    before = contact(9, marker)
    after = contact(9, marker, phone="+1 555 0100 0000", lifetime_value=5400.0)
    positions = dep.produce_avro([({"id": 9}, envelope("u", before, after))])
    dep.audits_for(positions)
    [(key, value)] = outputs_with_marker(dep, marker)
    assert value["before"]["email"] == value["after"]["email"] == value["before"]["email"]
    assert value["before"]["id"] == value["after"]["id"] == key["id"]
    assert value["after"]["lifetime_value"] == 5000.0 and value["before"]["lifetime_value"] == 1000.0


def test_exactly_one_audit_event_per_input(contacts_worker: Deployment) -> None:
    dep = contacts_worker
    marker = f"count-{os.urandom(4).hex()}"
    events = [({"id": 100 + i}, envelope("c", None, contact(100 + i, marker))) for i in range(40)]
    events.append(({"id": 100}, None))  # a tombstone is an input event too
    positions = dep.produce_avro(events)
    audits = dep.audits_for(positions)
    assert len(audits) == len(events)
    assert len({(a["source_partition"], a["source_offset"]) for a in audits}) == len(events)
    assert sorted(a["operation"] for a in audits).count("TOMBSTONE") == 1
    assert len(outputs_with_marker(dep, marker)) == 40


def test_bad_input_is_dead_lettered_with_distinct_reasons_and_the_worker_keeps_running(
    contacts_worker: Deployment,
) -> None:
    dep = contacts_worker
    good_key = dep.produce_avro([({"id": 5}, envelope("c", None, contact(5, "x")))])
    # A valid frame to borrow a real schema id from.
    [first] = [r for r in dep.read(dep.source_topic) if (r.partition, r.offset) == good_key[0]]
    assert first.value is not None
    value_id = struct.unpack(">I", first.value[1:5])[0]
    payloads: list[tuple[bytes | None, bytes | None]] = [
        (first.key, os.urandom(3)),  # random bytes too short to be a frame
        (first.key, b"\x07" + first.value[1:]),  # wrong magic byte
        (first.key, b"\x00" + struct.pack(">I", 987_654_321) + first.value[5:]),  # unknown schema id
        (first.key, b"\x00" + struct.pack(">I", value_id) + os.urandom(64)),  # random body
    ]
    positions = dep.produce_raw(payloads)
    audits = {(a["source_partition"], a["source_offset"]): a for a in dep.audits_for(positions)}
    reasons = [audits[p]["reason_code"] for p in positions]
    assert all(audits[p]["outcome"] == "DEAD_LETTERED" for p in positions)
    assert reasons[:3] == [ReasonCode.TRUNCATED_FRAME, ReasonCode.BAD_MAGIC_BYTE, ReasonCode.UNKNOWN_SCHEMA_ID]
    assert reasons[3] == ReasonCode.AVRO_DECODE_ERROR
    assert len(set(reasons)) == 4

    letters = {
        (d["source_partition"], d["source_offset"]): d
        for d in (dep.deserialize(r) for r in dep.read(dep.dead_letter_topic))
    }
    for position, reason in zip(positions, reasons, strict=True):
        letter = letters[position]
        assert letter["reason_code"] == reason
        assert letter["encrypted_value"] and letter["encryption_key_id"]

    # Still alive and still anonymizing.
    marker = f"after-bad-{os.urandom(4).hex()}"
    dep.audits_for(dep.produce_avro([({"id": 6}, envelope("c", None, contact(6, marker)))]))
    assert len(outputs_with_marker(dep, marker)) == 1
    dep.assert_alive()


def test_no_canary_value_reaches_output_audit_dead_letters_or_logs(contacts_worker: Deployment) -> None:
    dep = contacts_worker
    marker = f"canary-{os.urandom(4).hex()}"
    positions = dep.produce_avro([({"id": 31337}, envelope("c", None, contact(31337, marker)))])
    # One undecodable event carrying canaries in its body too.
    positions += dep.produce_raw([(None, b"\x00\x00\x00\x00\x01" + CANARIES["email"].encode())])
    dep.audits_for(positions)
    assert len(outputs_with_marker(dep, marker)) == 1
    places = {
        "output": dep.read(dep.output_topic),
        "audit": dep.read(dep.audit_topic),
        "dead-letter": dep.read(dep.dead_letter_topic),
    }
    for place, records in places.items():
        blob = b"".join((r.key or b"") + (r.value or b"") + b"".join(v for _, v in r.headers) for r in records)
        assert blob, place
        for name, canary in CANARIES.items():
            assert canary.encode() not in blob, f"{name} canary found in {place}"
    log = dep.log_text()
    assert b"dead_lettered" in log  # the log is real and has the events in it
    for name, canary in CANARIES.items():
        assert canary.encode() not in log, f"{name} canary found in the worker log"
