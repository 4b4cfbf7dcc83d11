from __future__ import annotations

import io
import json
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.core import EventIn, EventOut, anonymize_batch
from streams.envelope.base import CompiledKey, subject_key
from streams.envelope.debezium import CompiledEnvelope
from streams.errors import AnonymizationError, ReasonCode

from .support import (
    CANARY_MARK,
    CONTACT_CANARIES,
    CONTACT_CANARY_ACCOUNT_ID,
    CONTACT_CANARY_ID,
    account_envelope,
    account_row,
    contact_envelope,
    contact_row,
    mysql_source,
    pg_source,
)

Plans = tuple[CompiledKey, CompiledEnvelope]


def ok(result: EventOut | AnonymizationError) -> EventOut:
    assert isinstance(result, EventOut), result
    return result


def roundtrip(schema: dict[str, Any], record: Any) -> Any:
    parsed = parse_schema(schema)
    buf = io.BytesIO()
    schemaless_writer(buf, parsed, record)
    buf.seek(0)
    return schemaless_reader(buf, parsed, None)


def test_update_event_is_anonymized(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    before = contact_row()
    after = contact_row(email="ADA.lovelace@example.com ", phone="+44 20 7946 0000", updated_at=1_760_000_900_000_000)
    [result] = anonymize_batch(key_plan, envelope, [EventIn({"id": 1001}, contact_envelope("u", before, after))])
    out = ok(result)
    assert out.key is not None and out.value is not None
    b, a = out.value["before"], out.value["after"]
    # same value -> same token in both images and in the key
    assert a["id"] == b["id"] == out.key["id"]
    assert a["id"].startswith("tok_ut1_")
    assert a["account_id"] == b["account_id"]
    assert a["last_name"] == b["last_name"]
    # normalize=lower: case and surrounding whitespace do not change the email token
    assert a["email"] == b["email"]
    assert a["phone"] != b["phone"]
    assert a["phone"] == "+** ** **** **00"
    assert b["first_name"] == "A****"
    assert b["birth_date"] == 1989
    assert b["created_at"] == "2025-10"
    assert b["postal_code"] == "SW1"
    assert b["lifetime_value"] == 12000.0
    assert b["city"] == "London"
    assert b["marketing_opt_in"] is True
    for dropped in ("street", "notes", "updated_at"):
        assert dropped not in a and dropped not in b
    assert out.value["op"] == "u"
    assert out.value["ts_ms"] == 1_760_000_000_003 - 1_760_000_000_003 % 3_600_000  # coarsened to the hour
    assert "lsn" not in out.value["source"]  # a position: dropped by default
    assert out.uncovered == ("updated_at",)
    assert ("key.id", "tokenize(scope=contact,key=ut1)") in out.actions
    assert ("updated_at", "drop") in out.actions


def test_tokens_are_stable_across_batches(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    first = ok(
        anonymize_batch(key_plan, envelope, [EventIn({"id": 7}, contact_envelope("c", None, contact_row(id=7)))])[0]
    )
    second = ok(
        anonymize_batch(
            key_plan,
            envelope,
            [
                EventIn({"id": 8}, contact_envelope("c", None, contact_row(id=8))),
                EventIn({"id": 7}, contact_envelope("d", contact_row(id=7), None)),
            ],
        )[1]
    )
    assert first.value is not None and second.value is not None
    assert first.value["after"]["id"] == second.value["before"]["id"]
    assert first.key == second.key
    assert second.value["after"] is None


def test_tombstone_keeps_an_anonymized_key(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    create, tombstone = anonymize_batch(
        key_plan,
        envelope,
        [EventIn({"id": 1001}, contact_envelope("c", None, contact_row())), EventIn({"id": 1001}, None)],
    )
    out = ok(tombstone)
    assert out.value is None
    assert out.key is not None
    assert out.key["id"].startswith("tok_ut1_")
    assert out.key == ok(create).key
    assert out.uncovered == ()
    assert out.actions == (("key.id", "tokenize(scope=contact,key=ut1)"),)


def test_nullable_fields_stay_null(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    row = contact_row(phone=None, birth_date=None, account_id=None, lifetime_value=None, postal_code=None)
    out = ok(anonymize_batch(key_plan, envelope, [EventIn({"id": 1}, contact_envelope("r", None, row))])[0])
    assert out.value is not None
    after = out.value["after"]
    for name in ("phone", "birth_date", "account_id", "lifetime_value", "postal_code"):
        assert after[name] is None


def test_required_field_null_is_wrong_type(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    [result] = anonymize_batch(
        key_plan, envelope, [EventIn({"id": 1}, contact_envelope("r", None, contact_row(email=None)))]
    )
    assert isinstance(result, AnonymizationError)
    assert result.code is ReasonCode.WRONG_TYPE
    assert result.field == "email"


def test_batch_failure_is_isolated_to_the_bad_event(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    events = [EventIn({"id": i}, contact_envelope("c", None, contact_row(id=i))) for i in range(1, 6)]
    events[2] = EventIn({"id": 3}, contact_envelope("c", None, contact_row(id=3, first_name=918273645)))
    results = anonymize_batch(key_plan, envelope, events)
    assert len(results) == 5
    bad = results[2]
    assert isinstance(bad, AnonymizationError)
    assert bad.code is ReasonCode.WRONG_TYPE
    assert bad.field == "first_name"
    assert "918273645" not in str(bad)
    for i in (0, 1, 3, 4):
        out = ok(results[i])
        assert out.value is not None
        assert out.value["after"]["first_name"] == "A****"
    # the good events got the same tokens as when anonymized alone
    alone = ok(anonymize_batch(key_plan, envelope, [events[3]])[0])
    assert alone.key == ok(results[3]).key


def test_wrong_typed_date_in_before_image_is_isolated(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    good = EventIn({"id": 1}, contact_envelope("c", None, contact_row(id=1)))
    bad = EventIn({"id": 2}, contact_envelope("u", contact_row(id=2, birth_date="1990-01-01"), contact_row(id=2)))
    results = anonymize_batch(key_plan, envelope, [good, bad, good])
    assert isinstance(results[1], AnonymizationError)
    assert results[1].field == "birth_date"
    assert "1990" not in str(results[1])
    ok(results[0])
    ok(results[2])


def test_wrong_typed_key_is_isolated(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    good = EventIn({"id": 1}, contact_envelope("c", None, contact_row(id=1)))
    bad = EventIn({"id": 2.5}, contact_envelope("c", None, contact_row(id=2)))
    results = anonymize_batch(key_plan, envelope, [good, bad])
    ok(results[0])
    assert isinstance(results[1], AnonymizationError)
    assert results[1].code is ReasonCode.WRONG_TYPE
    assert results[1].field == "id"


def test_single_event_failure_returns_the_error(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    [result] = anonymize_batch(
        key_plan, envelope, [EventIn({"id": 1}, contact_envelope("c", None, contact_row(phone=12345)))]
    )
    assert isinstance(result, AnonymizationError)
    assert result.field == "phone"


def test_key_without_key_plan_is_unsupported(contacts_plans: Plans) -> None:
    _, envelope = contacts_plans
    [result] = anonymize_batch(None, envelope, [EventIn({"id": 1}, contact_envelope("c", None, contact_row()))])
    assert isinstance(result, AnonymizationError)
    assert result.code is ReasonCode.UNSUPPORTED_ENVELOPE


def test_transform_bug_becomes_transform_failed_without_value(
    contacts_plans: Plans, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_plan, envelope = contacts_plans
    plan = next(p for p in envelope.row.plan if p.name == "city")

    def boom(values: Any, ctx: Any) -> Any:
        raise RuntimeError(f"cannot handle {values!r}")

    monkeypatch.setattr(plan.transform, "apply", boom)
    [result] = anonymize_batch(
        key_plan, envelope, [EventIn({"id": 1}, contact_envelope("c", None, contact_row(city="CANARY-CITY")))]
    )
    assert isinstance(result, AnonymizationError)
    assert result.code is ReasonCode.TRANSFORM_FAILED
    assert result.field == "city"
    assert "RuntimeError" in result.detail
    assert "CANARY" not in str(result)


def test_output_encodes_against_the_derived_schemas(contacts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    events = [
        EventIn({"id": 1}, contact_envelope("r", None, contact_row(id=1), source=pg_source(snapshot="true"))),
        EventIn({"id": 2}, contact_envelope("u", contact_row(id=2), contact_row(id=2, phone=None))),
        EventIn({"id": 3}, contact_envelope("d", contact_row(id=3), None)),
        EventIn({"id": 3}, None),
    ]
    results = [ok(r) for r in anonymize_batch(key_plan, envelope, events)]
    for out in results:
        assert roundtrip(key_plan.output_schema, out.key) == out.key
        if out.value is not None:
            assert roundtrip(envelope.output_schema, out.value) == out.value


def test_accounts_source_query_is_not_in_output(accounts_plans: Plans) -> None:
    key_plan, envelope = accounts_plans
    value = account_envelope(
        "u",
        account_row(),
        account_row(phone="+1-202-555-0199"),
        source=mysql_source(query="UPDATE accounts SET owner_email='CANARY-Q@leak.test' WHERE id=501"),
    )
    out = ok(anonymize_batch(key_plan, envelope, [EventIn({"id": 501}, value)])[0])
    assert out.value is not None
    assert "query" not in out.value["source"]
    assert "pos" not in out.value["source"]
    assert out.value["after"]["owner_email"] == "o****@****.com"
    assert out.value["after"]["annual_revenue"] == 1_200_000.0
    assert out.value["after"]["employee_count"] == 100
    assert out.value["after"]["created_at"] == "2025-Q4"
    assert CANARY_MARK not in json.dumps(out.value, default=str)
    assert roundtrip(envelope.output_schema, out.value) == out.value


def canary_contact() -> dict[str, Any]:
    return contact_row(id=CONTACT_CANARY_ID, account_id=CONTACT_CANARY_ACCOUNT_ID, **CONTACT_CANARIES)


def test_canaries_never_reach_the_output(contacts_plans: Plans, accounts_plans: Plans) -> None:
    key_plan, envelope = contacts_plans
    canary = canary_contact()
    events = [
        EventIn({"id": CONTACT_CANARY_ID}, contact_envelope("r", None, canary)),
        EventIn({"id": CONTACT_CANARY_ID}, contact_envelope("u", canary, dict(canary, city="Paris"))),
        EventIn({"id": CONTACT_CANARY_ID}, contact_envelope("d", canary, None)),
        EventIn({"id": CONTACT_CANARY_ID}, None),
    ]
    results = [ok(r) for r in anonymize_batch(key_plan, envelope, events)]

    a_key, a_env = accounts_plans
    account = account_row(
        id=CONTACT_CANARY_ACCOUNT_ID,
        name="CANARY-COMPANY-7f3a",
        website="https://CANARY-WEB-7f3a.example",
        phone="CANARY-APHONE-7f3a",
        billing_street="CANARY-BSTREET-7f3a",
        billing_postal_code="CANARY-BPOSTAL-7f3a",
        owner_email="CANARY-OWNER-7f3a@leak.test",
        description="CANARY-DESC-7f3a",
    )
    query = "UPDATE accounts SET owner_email='CANARY-QUERY-7f3a@leak.test'"
    results += [
        ok(r)
        for r in anonymize_batch(
            a_key,
            a_env,
            [
                EventIn(
                    {"id": CONTACT_CANARY_ACCOUNT_ID},
                    account_envelope("c", None, account, source=mysql_source(query=query)),
                )
            ],
        )
    ]

    serialized = json.dumps(
        [{"key": r.key, "value": r.value, "actions": r.actions, "uncovered": r.uncovered} for r in results],
        default=str,
    )
    for needle in [*CONTACT_CANARIES.values(), query, "leak.test"]:
        assert needle not in serialized
    assert CANARY_MARK not in serialized
    assert str(CONTACT_CANARY_ID) not in serialized
    assert str(CONTACT_CANARY_ACCOUNT_ID) not in serialized
    # and the anonymized output still encodes
    for out in results[:4]:
        if out.value is not None:
            roundtrip(envelope.output_schema, out.value)


def test_transforms_get_subject_keys_aligned_with_their_values(
    contacts_plans: Plans, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_plan, envelope = contacts_plans
    phone_plan = next(p for p in envelope.row.plan if p.name == "phone")
    seen: list[tuple[list[Any], list[bytes]]] = []
    original = phone_plan.transform.apply

    def spy(values: Any, ctx: Any) -> Any:
        seen.append((list(values), list(ctx.subject_keys)))
        return original(values, ctx)

    monkeypatch.setattr(phone_plan.transform, "apply", spy)
    events = [
        EventIn({"id": 1}, contact_envelope("c", None, contact_row(id=1, phone="+1 202 555 0101"))),
        EventIn({"id": 2}, contact_envelope("c", None, contact_row(id=2, phone=None))),  # null: not passed on
        EventIn({"id": 3}, contact_envelope("u", contact_row(id=3, phone="+1 202 555 0103"), contact_row(id=3))),
    ]
    results = anonymize_batch(key_plan, envelope, events)
    assert all(isinstance(r, EventOut) for r in results)
    [(values, subjects)] = seen
    assert values == ["+1 202 555 0101", "+1 202 555 0103", "+44 20 7946 0958"]
    assert subjects == [subject_key({"id": 1}), subject_key({"id": 3}), subject_key({"id": 3})]
    assert len(set(subjects)) == 2


def test_subject_key_is_canonical() -> None:
    assert subject_key({"a": 1, "b": "x"}) == subject_key({"b": "x", "a": 1})
    assert subject_key({"id": 1}) != subject_key({"id": 2})
    assert subject_key({"id": 1}) != subject_key({"id": "1"})
    assert subject_key(None) == b""
