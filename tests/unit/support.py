"""Shared unit-test helpers: fixed test keys, paths, canaries and builders of valid Debezium events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = REPO_ROOT / "tests" / "policies" / "crm-fail-closed.yaml"
DEBEZIUM_SCHEMAS = REPO_ROOT / "schemas" / "debezium"
CONTACTS_TOPIC = "crm.public.contacts"
ACCOUNTS_TOPIC = "crmdb.crm.accounts"

TEST_KEY_ID = "ut1"
TEST_KEY = bytes(range(32))  # fixed 256-bit tokenization key: tokens are reproducible across runs
OTHER_KEY = bytes(range(100, 132))
DEAD_LETTER_KEY = bytes(range(200, 232))
DEAD_LETTER_KEY_ID = "dlq-test"

# Distinctive strings that must never appear in any output.
CANARY_MARK = "CANARY"
CONTACT_CANARIES = {
    "first_name": "CANARY-FIRST-7f3a",
    "last_name": "CANARY-LAST-7f3a",
    "email": "CANARY-EMAIL-7f3a@leak.test",
    "phone": "CANARY-PHONE-7f3a",
    "street": "CANARY-STREET-7f3a 12 Leak Road",
    "postal_code": "CANARY-POSTAL-7f3a",
    "notes": "CANARY-NOTES-7f3a called CANARY-EMAIL-7f3a@leak.test",
}
CONTACT_CANARY_ID = 918273645
CONTACT_CANARY_ACCOUNT_ID = 564738291


def load_avsc(topic: str, part: str) -> Any:
    return json.loads((DEBEZIUM_SCHEMAS / f"{topic}-{part}.avsc").read_text())


def contact_row(**overrides: Any) -> dict[str, Any]:
    """A valid ``crm.public.contacts.Value`` row (plain values, as fastavro decodes them)."""
    row: dict[str, Any] = {
        "id": 1001,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada.lovelace@example.com",
        "phone": "+44 20 7946 0958",
        "birth_date": 7300,  # io.debezium.time.Date: days since epoch -> 1989-12-27
        "street": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
        "company": "Analytical Engines Ltd",
        "job_title": "Mathematician",
        "lifetime_value": 12345.67,
        "marketing_opt_in": True,
        "notes": "Prefers email",
        "account_id": 501,
        "created_at": 1_760_000_000_000_000,  # io.debezium.time.MicroTimestamp -> 2025-10-09
        "updated_at": 1_760_000_500_000_000,
    }
    row.update(overrides)
    return row


def pg_source(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "version": "2.7.3.Final",
        "connector": "postgresql",
        "name": "crm",
        "ts_ms": 1_760_000_000_000,
        "snapshot": "false",
        "db": "crm",
        "sequence": '["24023120","24023128"]',
        "ts_us": 1_760_000_000_000_000,
        "ts_ns": 1_760_000_000_000_000_000,
        "schema": "public",
        "table": "contacts",
        "txId": 556,
        "lsn": 24_023_128,
        "xmin": None,
    }
    source.update(overrides)
    return source


def contact_envelope(
    op: str, before: dict[str, Any] | None, after: dict[str, Any] | None, **overrides: Any
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "before": before,
        "after": after,
        "source": pg_source(),
        "op": op,
        "ts_ms": 1_760_000_000_003,
        "ts_us": 1_760_000_000_003_000,
        "ts_ns": 1_760_000_000_003_000_000,
        "transaction": None,
    }
    value.update(overrides)
    return value


def account_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 501,
        "name": "Analytical Engines Ltd",
        "website": "https://engines.example.com",
        "phone": "+1-202-555-0143",
        "industry": "Software",
        "billing_street": "1 Infinite Loop",
        "billing_city": "Cupertino",
        "billing_postal_code": "95014",
        "billing_country": "US",
        "annual_revenue": 1_234_567.0,
        "employee_count": 123,
        "owner_email": "owner@engines.example.com",
        "description": "Makes engines",
        "created_at": 1_760_000_000_000_000,
    }
    row.update(overrides)
    return row


def mysql_source(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "version": "2.7.3.Final",
        "connector": "mysql",
        "name": "crmdb",
        "ts_ms": 1_760_000_000_000,
        "snapshot": "false",
        "db": "crm",
        "sequence": None,
        "ts_us": 1_760_000_000_000_000,
        "ts_ns": 1_760_000_000_000_000_000,
        "table": "accounts",
        "server_id": 223344,
        "gtid": None,
        "file": "mysql-bin.000003",
        "pos": 154,
        "row": 0,
        "thread": 7,
        "query": None,
    }
    source.update(overrides)
    return source


def account_envelope(
    op: str, before: dict[str, Any] | None, after: dict[str, Any] | None, **overrides: Any
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "before": before,
        "after": after,
        "source": mysql_source(),
        "op": op,
        "ts_ms": 1_760_000_000_003,
        "ts_us": None,
        "ts_ns": None,
        "transaction": None,
    }
    value.update(overrides)
    return value
