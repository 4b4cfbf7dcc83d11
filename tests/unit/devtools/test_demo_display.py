"""The demo's "masked for display" shows no raw value, nested ones included."""

from __future__ import annotations

import json

from streams.devtools.demo import _masked
from streams.devtools.leaks import LeakScanner

SALESFORCE_FIELDS = {
    "Name": {"Salutation": "Ms.", "FirstName": "Jane", "LastName": "Doeberg", "MiddleName": None},
    "MailingAddress": {"Street": "12 Canary Wharf", "City": "Leedsbury", "PostalCode": "LS1 4AB", "Country": "GB"},
    "Email": "jane.doeberg@example.com",
    "AccountId": "001ak00000FqAsJAAV",
    "Tags": ["vip-jane", "x"],
}


def test_compound_salesforce_fields_are_masked_too() -> None:
    """The reported leak: MailingAddress and Name were printed raw under "masked for display"."""
    shown = json.dumps(_masked(SALESFORCE_FIELDS))
    raw = ["Jane", "Doeberg", "12 Canary Wharf", "Leedsbury", "LS1 4AB", "jane.doeberg@example.com", "001ak00000"]
    scanner = LeakScanner([*raw, "vip-jane"])
    assert scanner.scan(shown.encode(), "display") == 0, scanner.found
    masked = _masked(SALESFORCE_FIELDS)
    assert masked["MailingAddress"]["Country"] == "GB"
    assert "001ak" not in masked["AccountId"]
    assert masked["Name"]["MiddleName"] is None
