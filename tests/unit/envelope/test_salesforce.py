"""Salesforce CDC envelope (``envelope: salesforce``) on the public Pub/Sub API examples and on generated traffic."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.validation import validate

from streams.core import EventIn, EventOut, anonymize_batch
from streams.deadletter import DeadLetterSealer
from streams.devtools.generator.salesforce import (
    ACCOUNT_TOPIC,
    CONTACT_TOPIC,
    OVERFLOW_ID,
    SalesforceCdcGenerator,
    salesforce_id,
)
from streams.devtools.leaks import LeakScanner
from streams.envelope.base import CompiledKey, subject_key
from streams.envelope.metadata import coarsen_epoch
from streams.envelope.registry import compile_source_key, compile_source_value
from streams.envelope.salesforce import (
    CompiledSalesforceEnvelope,
    api_family,
    compile_salesforce,
    compile_salesforce_key,
    object_name,
)
from streams.errors import AnonymizationError, PolicyError
from streams.kafka.registry import SchemaCache
from streams.keys import KeyRing
from streams.memory_sink import MemorySink
from streams.policy.lint import lint_policy
from streams.policy.loader import LoadedPolicy, load_policy
from streams.policy.model import SourcePolicy
from streams.ports import RawRecord
from streams.processor.pipeline import Pipeline
from streams.transforms.tokenize import Tokenize

from ..support import DEAD_LETTER_KEY, DEAD_LETTER_KEY_ID, TEST_KEY, TEST_KEY_ID

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "salesforce"
SCHEMAS = REPO_ROOT / "schemas" / "salesforce"
EXAMPLE_POLICY = (
    REPO_ROOT / "tests" / "policies" / "crm-v2-month-times.yaml"
)  # its sfdc-* sources (v2: most transforms)
KEYRING = KeyRing({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID)

EMPLOYEE_ID = "a00ak00000FqAsJAAV"
EMPLOYEE_USER = "005ak000004FkWTAA0"
EMPLOYEE_FIELDS = {
    "Employee__c.OwnerId": {"transform": "tokenize", "scope": "sfdc-user"},
    "Name": "keep",  # an auto-number ("e-100")
    "CreatedDate": {"transform": "generalize", "to": "month"},
    "CreatedById": {"transform": "tokenize", "scope": "sfdc-user"},
    "LastModifiedDate": "keep",
    "LastModifiedById": {"transform": "tokenize", "scope": "sfdc-user"},
    "Last_Name__c": {"transform": "tokenize", "scope": "name"},
    "First_Name__c": "drop",
    "Tenure__c": "keep",
}


def token(value: str, scope: str) -> str:
    return Tokenize(TEST_KEY, TEST_KEY_ID, scope).token(value)


def avsc(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def fixture(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return event


def source(name: str, topic: str, fields: dict[str, Any], **extra: Any) -> SourcePolicy:
    return SourcePolicy.model_validate(
        {"name": name, "topic": topic, "envelope": "salesforce", "output_topic": f"anon.{topic}", "fields": fields}
        | extra
    )


def wire(schema: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The record as the pipeline sees it: Avro-encoded with the writer schema, then decoded."""
    parsed = parse_schema(schema)
    buf = io.BytesIO()
    schemaless_writer(buf, parsed, record)
    buf.seek(0)
    decoded: dict[str, Any] = schemaless_reader(buf, parsed, None)
    return decoded


def encode_output(envelope: CompiledSalesforceEnvelope, value: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(envelope.output_schema), value)
    return buf.getvalue()


def decode_output(envelope: CompiledSalesforceEnvelope, body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = schemaless_reader(io.BytesIO(body), parse_schema(envelope.output_schema), None)
    return decoded


def run(key_plan: CompiledKey | None, envelope: CompiledSalesforceEnvelope, key: Any, value: Any) -> EventOut:
    [result] = anonymize_batch(key_plan, envelope, [EventIn(key, value)])
    assert isinstance(result, EventOut), result
    return result


def gap_create_header() -> dict[str, Any]:
    """The complete ChangeEventHeader of the (truncated) GAP_CREATE excerpt."""
    text = (FIXTURES / "sfdocs-current-GAP_CREATE-Account.TRUNCATED.excerpt.txt").read_text()
    match = re.search(r'"ChangeEventHeader":\s*(\{.*?\})', text, re.S)
    assert match is not None
    header: dict[str, Any] = json.loads(match.group(1))
    return header


# -- fixtures ----------------------------------------------------------------------------------------------
EMPLOYEE_SCHEMA = avsc(FIXTURES / "Employee__ChangeEvent-value.avsc")
CONTACT_SCHEMA = avsc(SCHEMAS / f"{CONTACT_TOPIC}-value.avsc")
ACCOUNT_SCHEMA = avsc(SCHEMAS / f"{ACCOUNT_TOPIC}-value.avsc")
KEY_SCHEMA = avsc(SCHEMAS / f"{CONTACT_TOPIC}-key.avsc")


@pytest.fixture(scope="module")
def employee() -> tuple[CompiledKey, CompiledSalesforceEnvelope]:
    src = source("employees", "sfdc.Employee__ChangeEvent", EMPLOYEE_FIELDS)
    return compile_salesforce_key(src, KEY_SCHEMA, KEYRING), compile_salesforce(src, EMPLOYEE_SCHEMA, KEYRING)


@pytest.fixture(scope="module")
def example_policy() -> LoadedPolicy:
    return load_policy(EXAMPLE_POLICY)


@pytest.fixture(scope="module")
def example_plans(example_policy: LoadedPolicy) -> dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]]:
    plans = {}
    for topic in (CONTACT_TOPIC, ACCOUNT_TOPIC):
        src = example_policy.policy.source_for_topic(topic)
        assert src is not None
        value = compile_source_value(src, avsc(SCHEMAS / f"{topic}-value.avsc"), KEYRING)
        assert isinstance(value, CompiledSalesforceEnvelope)
        plans[topic] = (compile_source_key(src, avsc(SCHEMAS / f"{topic}-key.avsc"), KEYRING), value)
    return plans


# -- the Trailhead Employee__c events (Pub/Sub API, decoded) ----------------------------------------------
def expected_header(event: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    raw = event["ChangeEventHeader"]
    return {
        "entityName": "Employee__c",
        "recordIds": [token(EMPLOYEE_ID, "sfdc-id")],
        "changeType": raw["changeType"],
        "changeOrigin": "com/salesforce/api/soap",
        # Default metadata policy: the commit time to the hour; commitNumber, transactionKey and
        # sequenceNumber (positions: commitNumber is a clock) are dropped.
        "commitTimestamp": coarsen_epoch(raw["commitTimestamp"], "ms", "hour"),
        "commitUser": token(EMPLOYEE_USER, "sfdc-user"),
        "nulledFields": [],
        "diffFields": [],
        "changedFields": changed,
        "gap": False,
    }


USER_TOKEN = token(EMPLOYEE_USER, "sfdc-user")
HEADER_NUMBER = "envelope.header.commitNumber"
EMPTY_BODY = dict.fromkeys(
    [
        "OwnerId",
        "Name",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "Last_Name__c",
        "Tenure__c",
    ]
)
EMPLOYEE_CASES = [
    (
        "trailhead-Employee__c-CREATE.json",
        [],
        EMPTY_BODY
        | {
            "OwnerId": USER_TOKEN,
            "Name": "e-100",
            "CreatedDate": "2024-08",
            "CreatedById": USER_TOKEN,
            "LastModifiedDate": 1722538034000,
            "LastModifiedById": USER_TOKEN,
            "Last_Name__c": token("Smith", "name"),
        },
    ),
    # 0x0320 = LastModifiedDate, First_Name__c, Tenure__c; First_Name__c is dropped, so it is not listed
    (
        "trailhead-Employee__c-UPDATE.json",
        ["LastModifiedDate", "Tenure__c"],
        EMPTY_BODY | {"LastModifiedDate": 1722538057000, "Tenure__c": 3.0},
    ),
    ("trailhead-Employee__c-DELETE.json", [], EMPTY_BODY),
    (
        "trailhead-Employee__c-UNDELETE.json",
        [],
        EMPTY_BODY
        | {
            "OwnerId": USER_TOKEN,
            "Name": "e-100",
            "CreatedDate": "2024-08",
            "CreatedById": USER_TOKEN,
            "LastModifiedDate": 1722538187000,
            "LastModifiedById": USER_TOKEN,
            "Last_Name__c": token("Smith", "name"),
            "Tenure__c": 3.0,
        },
    ),
]


@pytest.mark.parametrize(("name", "changed", "body"), EMPLOYEE_CASES, ids=[c[0] for c in EMPLOYEE_CASES])
def test_trailhead_events(
    employee: tuple[CompiledKey, CompiledSalesforceEnvelope], name: str, changed: list[str], body: dict[str, Any]
) -> None:
    key_plan, envelope = employee
    event = fixture(name)
    value = wire(EMPLOYEE_SCHEMA, event)
    out = run(key_plan, envelope, {"recordId": EMPLOYEE_ID}, value)
    assert out.value == {"ChangeEventHeader": expected_header(event, changed)} | body
    assert out.key == {"recordId": token(EMPLOYEE_ID, "sfdc-id")}
    assert out.operation == event["ChangeEventHeader"]["changeType"]
    # encodes against the derived output schema, and reads back the same (kept dates are timestamp-millis)
    encoded = encode_output(envelope, out.value)
    decoded = decode_output(envelope, encoded)
    if body["LastModifiedDate"] is not None:
        assert decoded["LastModifiedDate"] == dt.datetime.fromtimestamp(body["LastModifiedDate"] / 1000, dt.UTC)
    assert decoded["ChangeEventHeader"] == out.value["ChangeEventHeader"]
    for raw in (EMPLOYEE_ID, EMPLOYEE_USER, "Smith", "Patricia", "Trish", "SfdcInternalAPI", "devconsole"):
        assert raw.encode() not in encoded


def test_commit_number_is_exact_past_2_53_when_the_policy_keeps_it() -> None:
    src = source(
        "employees", "sfdc.Employee__ChangeEvent", EMPLOYEE_FIELDS, metadata={"fields": {HEADER_NUMBER: "keep"}}
    )
    key_plan, envelope = (
        compile_salesforce_key(src, KEY_SCHEMA, KEYRING),
        compile_salesforce(src, EMPLOYEE_SCHEMA, KEYRING),
    )
    event = fixture("trailhead-Employee__c-CREATE.json")
    number = event["ChangeEventHeader"]["commitNumber"]
    assert number == 1722538034362728400 > 2**53 and number != int(float(number) + 1)
    out = run(key_plan, envelope, None, wire(EMPLOYEE_SCHEMA, event))
    assert out.value is not None
    assert decode_output(envelope, encode_output(envelope, out.value))["ChangeEventHeader"]["commitNumber"] == number
    header = next(f for f in envelope.output_schema["fields"] if f["name"] == "ChangeEventHeader")["type"]
    assert next(f for f in header["fields"] if f["name"] == "commitNumber")["type"] == "long"


def test_unchanged_fields_stay_null_never_invented(employee: tuple[CompiledKey, CompiledSalesforceEnvelope]) -> None:
    _, envelope = employee
    out = run(None, envelope, None, wire(EMPLOYEE_SCHEMA, fixture("trailhead-Employee__c-UPDATE.json")))
    assert out.value is not None
    carried = {k for k, v in out.value.items() if v is not None and k != "ChangeEventHeader"}
    assert carried == {"LastModifiedDate", "Tenure__c"}
    assert "First_Name__c" not in out.value


def test_subject_is_the_first_record_id(employee: tuple[CompiledKey, CompiledSalesforceEnvelope]) -> None:
    _, envelope = employee
    value = wire(EMPLOYEE_SCHEMA, fixture("trailhead-Employee__c-UPDATE.json"))
    assert envelope.subject(None, value) == subject_key({"recordId": EMPLOYEE_ID})
    assert envelope.subject({"recordId": EMPLOYEE_ID}, value) == envelope.subject(None, value)


def test_audit_actions_list_the_header(employee: tuple[CompiledKey, CompiledSalesforceEnvelope]) -> None:
    key_plan, envelope = employee
    actions = dict(envelope.actions)
    assert actions["ChangeEventHeader.entityName"] == "keep"
    assert actions["ChangeEventHeader.recordIds"].startswith(f"tokenize(scope=sfdc-id,key={TEST_KEY_ID})")
    assert actions["ChangeEventHeader.commitUser"] == f"tokenize(scope=sfdc-user,key={TEST_KEY_ID})"
    assert actions["ChangeEventHeader.changeOrigin"] == "reduce(api family)"
    assert actions["ChangeEventHeader.changedFields"].startswith("decode(")
    assert actions["ChangeEventHeader.gap"] == "added(gap flag)"
    assert actions["First_Name__c"] == "drop"
    assert actions["OwnerId"] == f"tokenize(scope=sfdc-user,key={TEST_KEY_ID})"
    assert envelope.uncovered == ()
    assert key_plan.record.actions == (("key.recordId", f"tokenize(scope=sfdc-id,key={TEST_KEY_ID})"),)


def test_output_schema_is_writable_and_documented(employee: tuple[CompiledKey, CompiledSalesforceEnvelope]) -> None:
    _, envelope = employee
    schema = envelope.output_schema
    parse_schema(schema)
    assert schema["name"] == "anon.com.sforce.eventbus.Employee__ChangeEvent"
    assert schema["fields"][0]["name"] == "ChangeEventHeader"
    header = schema["fields"][0]["type"]
    assert header["name"] == "anon.com.sforce.eventbus.ChangeEventHeader"
    by_name = {f["name"]: f for f in header["fields"]}
    for name in ("changedFields", "nulledFields", "diffFields"):
        assert by_name[name]["type"] == {"type": "array", "items": "string"}
        assert "names of the output fields" in by_name[name]["doc"]
    assert by_name["changeType"]["type"]["name"] == "anon.com.sforce.eventbus.ChangeType"
    assert by_name["gap"] == {"name": "gap", "type": "boolean", "default": False, "doc": by_name["gap"]["doc"]}
    body = {f["name"]: f for f in schema["fields"][1:]}
    assert body["LastModifiedDate"]["type"] == ["null", {"type": "long", "logicalType": "timestamp-millis"}]
    assert body["CreatedDate"]["type"] == ["null", "string"]  # generalized to month
    assert "First_Name__c" not in body


# -- gap and overflow events -------------------------------------------------------------------------------
def account_event(header: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = dict.fromkeys(f["name"] for f in ACCOUNT_SCHEMA["fields"][1:])
    return {"ChangeEventHeader": header, **body, **fields}


def test_gap_create_from_the_docs(example_plans: dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]]) -> None:
    key_plan, envelope = example_plans[ACCOUNT_TOPIC]
    header = gap_create_header()
    assert header["changeType"] == "GAP_CREATE"
    # a gap event's body is null; even if it were not, nothing of it would be forwarded
    value = wire(ACCOUNT_SCHEMA, account_event(header, Name="Injected Co", Phone="+1 415 555 0100"))
    assert envelope.images(value) == []
    out = run(key_plan, envelope, {"recordId": header["recordIds"][0]}, value)
    assert out.value is not None and out.operation == "GAP_CREATE"
    out_header = out.value["ChangeEventHeader"]
    assert out_header["gap"] is True
    assert out_header["recordIds"] == [token("001ZM000001n4n5YAA", "sfdc-id")]
    assert out_header["commitUser"] == token("005ZM000000Q6ipYAC", "sfdc-user")
    assert out_header["changeOrigin"] == ""
    assert "commitNumber" not in out_header  # a position: dropped by default
    assert all(v is None for k, v in out.value.items() if k != "ChangeEventHeader")
    assert out.key == {"recordId": out_header["recordIds"][0]}
    encode_output(envelope, out.value)


def test_gap_overflow_keeps_the_placeholder_id(
    example_plans: dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]],
) -> None:
    key_plan, envelope = example_plans[ACCOUNT_TOPIC]
    excerpt = (FIXTURES / "sfdocs-v258-GAP_OVERFLOW-Account.TRUNCATED.excerpt.txt").read_text()
    assert OVERFLOW_ID in excerpt and '"entityName": "Account"' in excerpt
    header = gap_create_header() | {"changeType": "GAP_OVERFLOW", "recordIds": [OVERFLOW_ID]}
    out = run(key_plan, envelope, {"recordId": OVERFLOW_ID}, wire(ACCOUNT_SCHEMA, account_event(header)))
    assert out.value is not None and out.operation == "GAP_OVERFLOW"
    assert out.value["ChangeEventHeader"]["recordIds"] == [OVERFLOW_ID]
    assert out.value["ChangeEventHeader"]["gap"] is True
    assert out.key == {"recordId": OVERFLOW_ID}  # the key passes the same way
    encode_output(envelope, out.value)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["001*"], ["001*"]),  # wildcard: every record of the object
        (["0014H00002LbR7QQAV", "001*"], [token("0014H00002LbR7QQAV", "sfdc-id"), "001*"]),
        (
            ["0014H00002LbR7QQAV", "0014H00002LbR7RQAV"],
            [token("0014H00002LbR7QQAV", "sfdc-id"), token("0014H00002LbR7RQAV", "sfdc-id")],
        ),
        (["00*"], [token("00*", "sfdc-id")]),  # not a key prefix: tokenized (fail closed)
        (["000000000000000AAB"], [token("000000000000000AAB", "sfdc-id")]),
        ([], []),
    ],
)
def test_record_ids(
    example_plans: dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]], ids: list[str], expected: list[str]
) -> None:
    _, envelope = example_plans[ACCOUNT_TOPIC]
    header = gap_create_header() | {"changeType": "UPDATE", "recordIds": ids}
    out = run(None, envelope, None, wire(ACCOUNT_SCHEMA, account_event(header)))
    assert out.value is not None
    assert out.value["ChangeEventHeader"]["recordIds"] == expected
    assert out.value["ChangeEventHeader"]["gap"] is False


# -- the pozil AccountChangeEvent capture ------------------------------------------------------------------
def test_pozil_account_update(example_plans: dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]]) -> None:
    key_plan, envelope = example_plans[ACCOUNT_TOPIC]
    payload = fixture("pozil-readme-AccountChangeEvent-update-decoded.json")["payload"]
    assert [f["name"] for f in ACCOUNT_SCHEMA["fields"]] == list(payload)  # our schema has the capture's order
    out = run(key_plan, envelope, {"recordId": "0014H00002LbR7QQAV"}, wire(ACCOUNT_SCHEMA, payload))
    assert out.value is not None
    header = out.value["ChangeEventHeader"]
    # plain names (the client had decoded the bitmap) pass as names; all three are output fields here
    assert header["changedFields"] == ["LastModifiedDate", "BillingAddress.City", "BillingAddress.State"]
    assert header["changeOrigin"] == "com/salesforce/api/soap"
    assert header["commitUser"] == token("00558000000yFyDAAU", "sfdc-user")
    assert out.value["BillingAddress"] == {
        "City": "San Francisco",
        "State": "CA",
        "PostalCode": None,
        "Country": None,
        "StateCode": None,
        "CountryCode": None,
        "GeocodeAccuracy": None,
    }
    assert out.value["LastModifiedDate"] == "2023-10"
    assert "ShippingAddress" not in out.value
    assert {k for k, v in out.value.items() if v is not None} == {
        "ChangeEventHeader",
        "BillingAddress",
        "LastModifiedDate",
    }
    encode_output(envelope, out.value)


def test_bitmaps_keep_only_output_fields(
    example_plans: dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]],
) -> None:
    _, envelope = example_plans[ACCOUNT_TOPIC]
    # the docs' example against the Account order: ShippingAddress, Phone, Fax, Sic, Jigsaw, CleanStatus,
    # Tradestyle, NaicsCode and BillingAddress.Country; the policy drops ShippingAddress, Fax, Jigsaw, Tradestyle
    header = gap_create_header() | {
        "changeType": "UPDATE",
        "changedFields": ["0x650004E0", "4-0x10", "7-0x06"],
        "nulledFields": ["4-0x01"],  # BillingAddress.Street (dropped): no top-level bitmap
        "diffFields": ["0x10000"],  # Description (dropped)
    }
    out = run(None, envelope, None, wire(ACCOUNT_SCHEMA, account_event(header)))
    assert out.value is not None
    assert out.value["ChangeEventHeader"]["changedFields"] == [
        "Phone",
        "Sic",
        "CleanStatus",
        "NaicsCode",
        "BillingAddress.Country",
    ]
    assert out.value["ChangeEventHeader"]["nulledFields"] == []
    assert out.value["ChangeEventHeader"]["diffFields"] == []


@pytest.mark.parametrize(
    ("origin", "family"),
    [
        ("com/salesforce/api/soap/51.0;client=SfdcInternalAPI/", "com/salesforce/api/soap"),
        ("com/salesforce/api/soap/61.0;client=devconsole", "com/salesforce/api/soap"),
        ("com/salesforce/api/rest/58.0;client=Workbench/", "com/salesforce/api/rest"),
        ("com/salesforce/api/rest/58.0", "com/salesforce/api/rest"),
        ("com/salesforce/apex", "com/salesforce/apex"),
        ("", ""),
        ("client=alice@example.com", ""),
        ("https://example.com/alice", ""),
        ("com/salesforce/api/soap/Alice.Smith", "com/salesforce/api/soap"),
    ],
)
def test_change_origin_keeps_the_api_family(origin: str, family: str) -> None:
    assert api_family(origin) == family


# -- the Contact schema and the proposed policy -----------------------------------------------------------
def contact_event(header: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = dict.fromkeys(f["name"] for f in CONTACT_SCHEMA["fields"][1:])
    return {"ChangeEventHeader": header, **body, **fields}


def contact_header(change_type: str, record_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "entityName": "Contact",
        "recordIds": [record_id],
        "changeType": change_type,
        "changeOrigin": "com/salesforce/api/rest/61.0;client=AcmeSync-Integration/",
        "transactionKey": "0001b7b1-5ff1-499e-0b32-4b2aff2f6922",
        "sequenceNumber": 1,
        "commitTimestamp": 1760000000000,
        "commitNumber": 1760000000000123456,
        "commitUser": "0055g0000Amzb2JAQQ",
        "nulledFields": [],
        "diffFields": [],
        "changedFields": [],
    } | extra


ADDRESS = {
    "Street": "12 Leak Road",
    "City": "Springfield",
    "State": "IL",
    "PostalCode": "62704",
    "Country": "United States",
    "StateCode": "IL",
    "CountryCode": "US",
    "Latitude": 39.78,
    "Longitude": -89.65,
    "Xyz": None,
    "GeocodeAccuracy": "Address",
}
CONTACT_ID = salesforce_id("003", "5g0000Xy7Qa1")


def test_example_policy_covers_both_schemas(
    example_policy: LoadedPolicy, example_plans: dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]]
) -> None:
    for _, envelope in example_plans.values():
        assert envelope.uncovered == ()
        parse_schema(envelope.output_schema)
    subjects = {
        f"{topic}-{part}": avsc(SCHEMAS / f"{topic}-{part}.avsc")
        for topic in (CONTACT_TOPIC, ACCOUNT_TOPIC)
        for part in ("key", "value")
    }
    sfdc_only = example_policy.policy.model_copy(
        update={"sources": [s for s in example_policy.policy.sources if s.envelope == "salesforce"]}
    )
    report = lint_policy(dataclasses.replace(example_policy, policy=sfdc_only), subjects, KEYRING)
    assert report.errors == []
    assert report.findings == []


def test_contact_create(example_plans: dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]]) -> None:
    key_plan, envelope = example_plans[CONTACT_TOPIC]
    event = contact_event(
        contact_header("CREATE", CONTACT_ID),
        AccountId="0015g0000qtHUckAAG",
        Name={"Salutation": "Dr.", "FirstName": "Jane", "LastName": "Leakwell", "MiddleName": "Q", "Suffix": None},
        OtherAddress=ADDRESS,
        MailingAddress=ADDRESS,
        Email="Jane.Leakwell@example.com",
        Phone="+1 217 555 0199",
        Birthdate=(dt.date(1984, 5, 17) - dt.date(1970, 1, 1)).days * 86_400_000,
        Description="Met Jane Leakwell, jane.leakwell@example.com",
        OwnerId="0055g0000Amzb2JAQQ",
        CreatedDate=1760000000000,
        LastModifiedDate=1760000000000,
        HasOptedOutOfEmail=False,
    )
    out = run(key_plan, envelope, {"recordId": CONTACT_ID}, wire(CONTACT_SCHEMA, event))
    assert out.value is not None and out.key is not None
    value = out.value
    assert value["Name"] == {
        "Salutation": "Dr.",
        "FirstName": value["Name"]["FirstName"],
        "LastName": token("Leakwell", "name"),
    }
    assert value["Name"]["FirstName"].startswith("J*")  # mask, keep_first: 1
    assert value["Email"] == token("jane.leakwell@example.com", "email")  # normalize: lower
    assert value["Birthdate"] == 1984
    assert value["CreatedDate"] == "2025-10"
    assert value["MailingAddress"]["City"] == "Springfield"
    assert value["MailingAddress"]["PostalCode"] == "627"
    assert "Street" not in value["MailingAddress"]
    assert "OtherAddress" not in value and "Description" not in value
    assert value["OwnerId"] == value["ChangeEventHeader"]["commitUser"]  # joinable: same scope, same key
    assert value["ChangeEventHeader"]["recordIds"] == [out.key["recordId"]] == [token(CONTACT_ID, "sfdc-id")]
    assert value["AccountId"] == token("0015g0000qtHUckAAG", "sfdc-id")
    assert value["HasOptedOutOfEmail"] is False
    encoded = encode_output(envelope, value)
    for raw in ("Leakwell", "Jane", "12 Leak Road", "555 0199", CONTACT_ID, "0055g0000Amzb2JAQQ", "AcmeSync"):
        assert raw.encode() not in encoded


def test_contact_sparse_update(example_plans: dict[str, tuple[CompiledKey, CompiledSalesforceEnvelope]]) -> None:
    _, envelope = example_plans[CONTACT_TOPIC]
    # Email (12), LastModifiedDate (25) and Title (13, nulled); MailingAddress (4): Street, City; Name (2):
    # MiddleName nulled (a nulledFields list with no top-level bitmap)
    header = contact_header(
        "UPDATE",
        CONTACT_ID,
        changedFields=["0x02003000", "4-0x03", "2-0x08"],
        nulledFields=["0x2000", "2-0x08"],
    )
    event = contact_event(
        header,
        Email="new.address@example.com",
        Title=None,
        LastModifiedDate=1760000500000,
        MailingAddress=dict.fromkeys(ADDRESS) | {"Street": "1 Other Street", "City": "Chicago"},
        Name=dict.fromkeys(["Salutation", "FirstName", "LastName", "MiddleName", "Suffix"]),
    )
    out = run(None, envelope, None, wire(CONTACT_SCHEMA, event))
    assert out.value is not None
    out_header = out.value["ChangeEventHeader"]
    # MailingAddress.Street and Name.MiddleName are dropped by the policy: they are not named
    assert out_header["changedFields"] == ["Email", "Title", "LastModifiedDate", "MailingAddress.City"]
    assert out_header["nulledFields"] == ["Title"]
    assert out_header["changeOrigin"] == "com/salesforce/api/rest"
    assert out.value["Email"] == token("new.address@example.com", "email")
    assert out.value["MailingAddress"]["City"] == "Chicago"
    assert out.value["MailingAddress"]["State"] is None
    assert out.value["LastModifiedDate"] == "2025-10"
    assert out.value["Name"] == {"Salutation": None, "FirstName": None, "LastName": None}
    for name in ("Phone", "Birthdate", "OwnerId", "AccountId", "HasOptedOutOfEmail", "CreatedDate", "Title"):
        assert out.value[name] is None
    encode_output(envelope, out.value)


# -- compile-time behaviour --------------------------------------------------------------------------------
def test_object_name() -> None:
    assert object_name("com.sforce.eventbus.ContactChangeEvent") == "Contact"
    assert object_name("com.sforce.eventbus.Employee__ChangeEvent") == "Employee__c"
    assert object_name("AccountChangeEvent") == "Account"


def test_object_prefix_is_optional() -> None:
    plain = compile_salesforce(
        source("e", "t", {k.split(".", 1)[-1]: v for k, v in EMPLOYEE_FIELDS.items()}), EMPLOYEE_SCHEMA, KEYRING
    )
    prefixed = compile_salesforce(
        source("e", "t", {f"Employee__c.{k.split('.', 1)[-1]}": v for k, v in EMPLOYEE_FIELDS.items()}),
        EMPLOYEE_SCHEMA,
        KEYRING,
    )
    assert plain.actions == prefixed.actions
    assert plain.output_schema == prefixed.output_schema
    # another object's prefix is not stripped: the rule names no field, and the field stays uncovered
    other = compile_salesforce(
        source("e", "t", EMPLOYEE_FIELDS | {"Contact.Tenure__c": "keep"}), EMPLOYEE_SCHEMA, KEYRING
    )
    assert "Tenure__c" in dict(other.actions)


def test_same_field_twice_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="Email"):
        compile_salesforce(source("c", "t", {"Email": "keep", "Contact.Email": "drop"}), CONTACT_SCHEMA, KEYRING)


def test_id_rule_drives_record_ids_and_key() -> None:
    src = source("e", "t", EMPLOYEE_FIELDS | {"Employee__c.Id": {"transform": "tokenize", "scope": "employee"}})
    envelope = compile_salesforce(src, EMPLOYEE_SCHEMA, KEYRING)
    key_plan = compile_salesforce_key(src, KEY_SCHEMA, KEYRING)
    out = run(
        key_plan,
        envelope,
        {"recordId": EMPLOYEE_ID},
        wire(EMPLOYEE_SCHEMA, fixture("trailhead-Employee__c-UPDATE.json")),
    )
    assert out.value is not None and out.key is not None
    assert out.value["ChangeEventHeader"]["recordIds"] == [out.key["recordId"]] == [token(EMPLOYEE_ID, "employee")]
    # a key rule of its own is used for recordIds too when no Id rule is given
    keyed = source("e", "t", EMPLOYEE_FIELDS, key={"recordId": {"transform": "tokenize", "scope": "k2"}})
    assert dict(compile_salesforce(keyed, EMPLOYEE_SCHEMA, KEYRING).actions)["ChangeEventHeader.recordIds"].startswith(
        "tokenize(scope=k2,"
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [("drop", "cannot be dropped"), ({"transform": "generalize", "to": "year"}, "Id|recordIds")],
)
def test_id_rule_must_map_strings_to_strings(rule: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        compile_salesforce(source("e", "t", EMPLOYEE_FIELDS | {"Id": rule}), EMPLOYEE_SCHEMA, KEYRING)


def test_non_salesforce_schemas_are_refused() -> None:
    debezium = json.loads((REPO_ROOT / "schemas" / "debezium" / "crm.public.contacts-value.avsc").read_text())
    with pytest.raises(PolicyError, match="ChangeEventHeader"):
        compile_salesforce(source("e", "t", EMPLOYEE_FIELDS), debezium, KEYRING)
    header = EMPLOYEE_SCHEMA["fields"][0]["type"]
    thin = {
        **EMPLOYEE_SCHEMA,
        "fields": [{"name": "ChangeEventHeader", "type": {**header, "fields": header["fields"][:1]}}],
    }
    with pytest.raises(PolicyError, match="recordIds"):
        compile_salesforce(source("e", "t", EMPLOYEE_FIELDS), thin, KEYRING)


def test_unknown_header_fields_are_dropped_and_reported() -> None:
    header = EMPLOYEE_SCHEMA["fields"][0]["type"]
    legacy = {
        **header,
        "fields": [*header["fields"], {"name": "isTransactionEnd", "type": ["null", "boolean"], "default": None}],
    }
    schema = {
        **EMPLOYEE_SCHEMA,
        "fields": [{"name": "ChangeEventHeader", "type": legacy}, *EMPLOYEE_SCHEMA["fields"][1:]],
    }
    envelope = compile_salesforce(source("e", "t", EMPLOYEE_FIELDS), schema, KEYRING)
    assert envelope.uncovered == ("ChangeEventHeader.isTransactionEnd",)
    event = fixture("trailhead-Employee__c-CREATE.json")
    event["ChangeEventHeader"]["isTransactionEnd"] = True
    out = run(None, envelope, None, wire(schema, event))
    assert out.value is not None
    assert "isTransactionEnd" not in out.value["ChangeEventHeader"]
    encode_output(envelope, out.value)


def test_default_keep_keeps_uncovered_fields_and_reports_them() -> None:
    fields = {k: v for k, v in EMPLOYEE_FIELDS.items() if not k.startswith("Tenure")}
    envelope = compile_salesforce(source("e", "t", fields, default="keep"), EMPLOYEE_SCHEMA, KEYRING)
    assert "Tenure__c" in envelope.uncovered
    out = run(None, envelope, None, wire(EMPLOYEE_SCHEMA, fixture("trailhead-Employee__c-UNDELETE.json")))
    assert out.value is not None and out.value["Tenure__c"] == 3.0


def test_two_addresses_with_different_rules_get_distinct_output_types() -> None:
    fields = {"MailingAddress.City": "keep", "OtherAddress.Country": "keep", "OtherAddress.City": "drop"}
    envelope = compile_salesforce(source("c", "t", fields), CONTACT_SCHEMA, KEYRING)
    parse_schema(envelope.output_schema)
    types = {f["name"]: f["type"][1] for f in envelope.output_schema["fields"][1:]}
    assert isinstance(types["OtherAddress"], dict) and isinstance(types["MailingAddress"], dict)
    assert types["OtherAddress"]["name"] != types["MailingAddress"]["name"]
    event = contact_event(contact_header("CREATE", CONTACT_ID), MailingAddress=ADDRESS, OtherAddress=ADDRESS)
    out = run(None, envelope, None, wire(CONTACT_SCHEMA, event))
    assert out.value is not None
    assert out.value["MailingAddress"] == {"City": "Springfield"}
    assert out.value["OtherAddress"] == {"Country": "United States"}
    decoded = decode_output(envelope, encode_output(envelope, out.value))
    assert decoded["OtherAddress"] == {"Country": "United States"}


def test_missing_header_is_an_anonymization_error(employee: tuple[CompiledKey, CompiledSalesforceEnvelope]) -> None:
    _, envelope = employee
    [result] = anonymize_batch(None, envelope, [EventIn(None, {"Name": "e-100"})])
    assert isinstance(result, AnonymizationError)


def test_policy_model_accepts_the_salesforce_envelope() -> None:
    with pytest.raises(ValueError, match="envelope"):
        SourcePolicy.model_validate(
            {"name": "x", "topic": "t", "envelope": "hubspot", "output_topic": "o", "fields": {}}
        )
    assert source("x", "t", {}).envelope == "salesforce"


# -- generated traffic -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated() -> tuple[SalesforceCdcGenerator, list[Any]]:
    generator = SalesforceCdcGenerator(seed=11)
    return generator, list(generator.events(600))


def test_generator_events_fit_the_schemas(generated: tuple[SalesforceCdcGenerator, list[Any]]) -> None:
    _, events = generated
    parsed = {
        (topic, part): parse_schema(avsc(SCHEMAS / f"{topic}-{part}.avsc"))
        for topic in (CONTACT_TOPIC, ACCOUNT_TOPIC)
        for part in ("key", "value")
    }
    kinds = Counter(e.value["ChangeEventHeader"]["changeType"] for e in events)
    assert {"CREATE", "UPDATE", "DELETE", "UNDELETE", "GAP_OVERFLOW"} <= set(kinds)
    assert any(k.startswith("GAP_") and k != "GAP_OVERFLOW" for k in kinds)
    assert any(len(e.value["ChangeEventHeader"]["recordIds"]) > 1 for e in events)
    for event in events:
        assert validate(event.key, parsed[(event.topic, "key")])
        assert validate(event.value, parsed[(event.topic, "value")])
        assert event.key == {"recordId": event.value["ChangeEventHeader"]["recordIds"][0]}
    assert list(SalesforceCdcGenerator(seed=11).events(40)) == events[:40]


def test_generator_bitmaps_name_exactly_the_changed_fields(
    generated: tuple[SalesforceCdcGenerator, list[Any]],
) -> None:
    _, events = generated
    keep_all = {
        topic: compile_salesforce(
            source("x", topic, {}, default="keep"), avsc(SCHEMAS / f"{topic}-value.avsc"), KEYRING
        )
        for topic in (CONTACT_TOPIC, ACCOUNT_TOPIC)
    }
    updates = 0
    for event in events:
        header = event.value["ChangeEventHeader"]
        envelope = keep_all[event.topic]
        changed = envelope.decode_names(header["changedFields"])
        nulled = envelope.decode_names(header["nulledFields"])
        if header["changeType"] != "UPDATE":
            assert changed == nulled == []
            if header["changeType"] in ("DELETE",) or header["changeType"].startswith("GAP_"):
                assert all(v is None for k, v in event.value.items() if k != "ChangeEventHeader")
            continue
        updates += 1
        present = set()
        for name, value in event.value.items():
            if name == "ChangeEventHeader" or value is None:
                continue
            if isinstance(value, dict):
                present.update(f"{name}.{child}" for child, v in value.items() if v is not None)
            else:
                present.add(name)
        assert present <= set(changed)
        assert set(changed) - present == set(nulled)
        assert "LastModifiedDate" in changed
    assert updates > 100


def test_generated_traffic_through_the_pipeline(
    example_policy: LoadedPolicy, generated: tuple[SalesforceCdcGenerator, list[Any]]
) -> None:
    generator, events = generated
    registry = SchemaRegistryClient.new_client({"url": "mock://salesforce-unit-test"})
    sink = MemorySink()
    pipeline = Pipeline(
        example_policy,
        KEYRING,
        SchemaCache(registry),
        sink,
        DeadLetterSealer(DEAD_LETTER_KEY, DEAD_LETTER_KEY_ID),
        audit_topic="sfdc.audit.test",
        dead_letter_topic="sfdc.deadletter.test",
    )
    ids: dict[tuple[str, str], tuple[int, Any]] = {}
    for topic in (CONTACT_TOPIC, ACCOUNT_TOPIC):
        for part in ("key", "value"):
            schema = avsc(SCHEMAS / f"{topic}-{part}.avsc")
            schema_id = registry.register_schema(f"{topic}-{part}", Schema(json.dumps(schema), "AVRO"))
            ids[(topic, part)] = (schema_id, parse_schema(schema))

    def frame(topic: str, part: str, record: Any) -> bytes:
        schema_id, parsed = ids[(topic, part)]
        buf = io.BytesIO()
        buf.write(b"\x00" + schema_id.to_bytes(4, "big"))
        schemaless_writer(buf, parsed, record)
        return buf.getvalue()

    records = [
        RawRecord(e.topic, 0, i, 1_760_000_000_000 + i, frame(e.topic, "key", e.key), frame(e.topic, "value", e.value))
        for i, e in enumerate(events)
    ]
    stats = asyncio.run(pipeline.process(records))
    assert (stats.published, stats.dead_lettered, stats.audited) == (len(events), 0, len(events))
    assert len(generator.identifiers.values) > 500
    scanner = LeakScanner(generator.identifiers.values)
    for topic, key, value in ((s.topic, s.key, s.value) for s in sink.sent):
        scanner.scan(key, topic)
        scanner.scan(value, topic)
    assert scanner.total == 0, scanner.found
    audits = [
        _decode(registry, value)
        for topic, value in ((s.topic, s.value) for s in sink.sent)
        if topic == "sfdc.audit.test"
    ]
    assert [a["operation"] for a in audits] == [e.value["ChangeEventHeader"]["changeType"] for e in events]
    outputs = [
        _decode(registry, value)
        for topic, value in ((s.topic, s.value) for s in sink.sent)
        if topic.startswith("anon.")
    ]
    assert sum(o["ChangeEventHeader"]["gap"] for o in outputs) == sum(
        e.value["ChangeEventHeader"]["changeType"].startswith("GAP_") for e in events
    )


def _decode(registry: SchemaRegistryClient, frame: bytes | None) -> dict[str, Any]:
    assert frame is not None and frame[0] == 0
    schema = json.loads(registry.get_schema(int.from_bytes(frame[1:5], "big")).schema_str)
    decoded: dict[str, Any] = schemaless_reader(io.BytesIO(frame[5:]), parse_schema(schema), None)
    return decoded
