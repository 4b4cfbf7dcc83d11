"""Decoding of the Pub/Sub API bitmap fields (changedFields, nulledFields, diffFields) into field names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from streams.avro.types import expand
from streams.envelope.salesforce import FieldLayout, bitmap_layout, decode_field_list

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "salesforce"
SCHEMAS = REPO_ROOT / "schemas" / "salesforce"


def layout_of(path: Path) -> FieldLayout:
    return bitmap_layout(expand(json.loads(path.read_text())))


EMPLOYEE = layout_of(FIXTURES / "Employee__ChangeEvent-value.avsc")
ACCOUNT = layout_of(SCHEMAS / "sfdc.AccountChangeEvent-value.avsc")
CONTACT = layout_of(SCHEMAS / "sfdc.ContactChangeEvent-value.avsc")

# A layout where positions 4 and 7 are compound fields, as in the docs' example ['0x650004E0','4-0x10','7-0x06'].
ADDRESS = ("Street", "City", "State", "PostalCode", "Country")
PERSON = ("Salutation", "FirstName", "LastName")
DOC_LAYOUT: FieldLayout = tuple((f"F{i}", ADDRESS if i == 4 else PERSON if i == 7 else None) for i in range(32))


def test_layouts_follow_the_schema_order() -> None:
    assert EMPLOYEE[0] == ("ChangeEventHeader", EMPLOYEE[0][1])
    assert [name for name, _ in EMPLOYEE[1:]] == [
        "OwnerId",
        "Name",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "Last_Name__c",
        "First_Name__c",
        "Tenure__c",
    ]
    assert ACCOUNT[4] == ("BillingAddress", ACCOUNT[4][1])
    assert ACCOUNT[4][1] is not None and ACCOUNT[4][1][:5] == ADDRESS
    assert ACCOUNT[5][0] == "ShippingAddress" and ACCOUNT[5][1] == ACCOUNT[4][1]  # by-name reference resolved
    assert ACCOUNT[1] == ("Name", None)
    assert CONTACT[2][0] == "Name" and CONTACT[2][1] == ("Salutation", "FirstName", "LastName", "MiddleName", "Suffix")


def test_trailhead_update_bitmap_matches_the_java_client_log() -> None:
    # 0x0320 = bits 5, 8, 9
    assert decode_field_list(["0x0320"], EMPLOYEE) == ["LastModifiedDate", "First_Name__c", "Tenure__c"]
    log = (FIXTURES / "trailhead-Employee__c-UPDATE.java-client-decoded-changedFields.log").read_text()
    section = log.split("ChangedFields", 1)[1]
    logged = re.findall(r"java\.lang\.Class - (\w+)", section)
    assert logged == ["LastModifiedDate", "First_Name__c", "Tenure__c"]


def test_trailhead_fixture_carries_the_raw_bitmap() -> None:
    event = json.loads((FIXTURES / "trailhead-Employee__c-UPDATE.json").read_text())
    assert event["ChangeEventHeader"]["changedFields"] == ["0x0320"]
    names = decode_field_list(event["ChangeEventHeader"]["changedFields"], EMPLOYEE)
    # the decoded fields are exactly the non-null fields of the sparse update
    assert names == [k for k, v in event.items() if k != "ChangeEventHeader" and v is not None]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # the docs' example: 0x650004E0 = bits 5, 6, 7, 10, 24, 26, 29, 30
        (
            ["0x650004E0", "4-0x10", "7-0x06"],
            ["F5", "F6", "F7", "F10", "F24", "F26", "F29", "F30", "F4.Country", "F7.FirstName", "F7.LastName"],
        ),
        (["0x650004e0"], ["F5", "F6", "F7", "F10", "F24", "F26", "F29", "F30"]),  # lower-case hex
        (["0X650004E0"], ["F5", "F6", "F7", "F10", "F24", "F26", "F29", "F30"]),  # upper-case X
        (["4-0x1F"], [f"F4.{n}" for n in ADDRESS]),  # no top-level bitmap; all sub-fields
        (["4-0x1f", "7-0X01"], [*(f"F4.{n}" for n in ADDRESS), "F7.Salutation"]),
        (["0x01"], ["F0"]),  # bit 0 is the header position: decoded, filtered later by output names
        (["0x00"], []),
        ([], []),
    ],
)
def test_doc_layout_table(entries: list[str], expected: list[str]) -> None:
    assert decode_field_list(entries, DOC_LAYOUT) == expected


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # the docs' example against the AccountChangeEvent order of the pozil capture: 7 (Fax) is no compound
        (
            ["0x650004E0", "4-0x10", "7-0x06"],
            [
                "ShippingAddress",
                "Phone",
                "Fax",
                "Sic",
                "Jigsaw",
                "CleanStatus",
                "Tradestyle",
                "NaicsCode",
                "BillingAddress.Country",
            ],
        ),
        # what the pozil client printed for its capture, re-encoded as a bitmap: bit 22 + BillingAddress 1, 2
        (["0x400000", "4-0x06"], ["LastModifiedDate", "BillingAddress.City", "BillingAddress.State"]),
        (["0x400000", "4-0x06"][::-1], ["BillingAddress.City", "BillingAddress.State", "LastModifiedDate"]),
    ],
)
def test_account_layout_table(entries: list[str], expected: list[str]) -> None:
    assert decode_field_list(entries, ACCOUNT) == expected


def test_plain_names_pass_as_names() -> None:
    pozil = json.loads((FIXTURES / "pozil-readme-AccountChangeEvent-update-decoded.json").read_text())
    names = pozil["payload"]["ChangeEventHeader"]["changedFields"]
    assert decode_field_list(names, ACCOUNT) == ["LastModifiedDate", "BillingAddress.City", "BillingAddress.State"]
    assert decode_field_list(["Email", "0x02", "Email"], CONTACT) == ["Email", "AccountId"]  # no repeats


@pytest.mark.parametrize(
    "entries",
    [
        ["0x" + "F" * 400],  # more bits than fields: only the fields there are
        ["0xZZ"],  # not hex: no field, and not a name either
        ["0x"],
        ["99-0x01"],  # no field at position 99
        ["1-0x01"],  # AccountId is no compound
        ["2-0x80"],  # Name has 5 sub-fields: bit 7 names none
        [""],
        ["  "],
    ],
)
def test_malformed_or_out_of_range_entries_name_nothing_unknown(entries: list[str]) -> None:
    names = decode_field_list(entries, CONTACT)
    known = {name for name, _ in CONTACT} | {
        f"{parent}.{child}" for parent, children in CONTACT if children for child in children
    }
    assert set(names) <= known
    if entries != ["0x" + "F" * 400]:
        assert names == []
    else:
        assert names == [name for name, _ in CONTACT]


def test_entries_are_stripped() -> None:
    assert decode_field_list([" 0x20 ", " 4-0x02"], ACCOUNT) == ["ShippingAddress", "BillingAddress.City"]


def _bitmap_of(names: list[str], layout: FieldLayout) -> list[str]:
    """The inverse, as Salesforce writes it (as the generator does)."""
    positions = {name: i for i, (name, _) in enumerate(layout)}
    top = 0
    nested: dict[int, int] = {}
    for name in names:
        parent, _, child = name.partition(".")
        if child:
            children = layout[positions[parent]][1]
            assert children is not None
            nested[positions[parent]] = nested.get(positions[parent], 0) | 1 << children.index(child)
        else:
            top |= 1 << positions[name]
    out = [f"0x{top:X}"] if top else []
    return out + [f"{pos}-0x{bits:02X}" for pos, bits in sorted(nested.items())]


@pytest.mark.parametrize(
    "names",
    [
        ["Email", "LastModifiedDate"],
        ["Name.FirstName", "Name.LastName", "MailingAddress.City", "Phone"],
        ["OtherAddress.Street"],
        [name for name, children in CONTACT[1:] if children is None],
    ],
)
def test_roundtrip_through_a_bitmap(names: list[str]) -> None:
    encoded: list[Any] = _bitmap_of(names, CONTACT)
    assert sorted(decode_field_list(encoded, CONTACT)) == sorted(names)
