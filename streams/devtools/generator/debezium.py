"""Realistic Debezium events for a CRM database: contacts (PostgreSQL connector), accounts (MySQL connector).

Snapshot reads first, then creates, updates and deletes (each delete followed by its tombstone), with the
source blocks those connectors write, MySQL's ``query`` text included (it quotes personal data, which is why
the anonymizer drops it). Synthetic data only: Faker is seeded for repeatable test runs, this is not privacy
randomness.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

from streams.devtools.generator.marginals import Marginals

CONTACTS_TOPIC = "crm.public.contacts"
ACCOUNTS_TOPIC = "crmdb.crm.accounts"
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class CdcEvent:
    topic: str
    key: dict[str, Any] | None
    value: dict[str, Any] | None  # None: tombstone


@dataclass(slots=True)
class Identifiers:
    """Raw identifying values the generator emitted: what must never show up downstream."""

    values: set[str] = field(default_factory=set)

    def add(self, *candidates: object) -> None:
        for candidate in candidates:
            if isinstance(candidate, str) and len(candidate) >= 6:
                self.values.add(candidate)


@dataclass(frozen=True, slots=True)
class SeededEntity:
    """One piece of personal data the generator wrote into a contact's ``notes``: its scrub_text entity type
    and offsets (``notes[start:end]`` is the value)."""

    entity: str
    start: int
    end: int


def contact_note(first: str, phone: str, email: str, sentence: str) -> tuple[str, tuple[SeededEntity, ...]]:
    """A contact's ``notes`` and the personal data in it (the first name, the phone number, the email)."""
    parts: list[tuple[str | None, str]] = [
        (None, "Called "), ("PERSON", first), (None, " on "), ("PHONE", phone),
        (None, "; prefers email "), ("EMAIL", email), (None, f". {sentence}"),
    ]  # fmt: skip
    text, seeded = "", []
    for entity, piece in parts:
        if entity is not None:
            seeded.append(SeededEntity(entity, len(text), len(text) + len(piece)))
        text += piece
    return text, tuple(seeded)


class CrmCdcGenerator:
    def __init__(self, seed: int | None = 7, locale: str = "en_US") -> None:
        self.fake = Faker(locale)
        if seed is not None:
            self.fake.seed_instance(seed)
        self.contacts: dict[int, dict[str, Any]] = {}
        self.accounts: dict[int, dict[str, Any]] = {}
        self.identifiers = Identifiers()
        #: Ground truth of the contacts' notes: notes text -> the personal data written into it (recording it
        #: draws nothing from Faker, so a seed gives the same events as without it).
        self.note_entities: dict[str, tuple[SeededEntity, ...]] = {}
        self._next_contact = 1001
        self._next_account = 501
        self._lsn = 24_023_128
        self._pos = 154
        self._tx = 555
        self._now_ms = 1_760_000_000_000
        self.marginals = Marginals(self.fake)  # countries, Zipf cities, ages, titles: generator/marginals.py
        self._today = dt.date(2025, 10, 9)

    # -- rows ---------------------------------------------------------------------------------------
    def _micros(self) -> int:
        self._now_ms += self.fake.random_int(5, 900)
        return self._now_ms * 1000

    def new_account(self) -> dict[str, Any]:
        f = self.fake
        account_id, self._next_account = self._next_account, self._next_account + 1
        place = self.marginals.place()
        row = {
            "id": account_id,
            "name": f.company(),
            "website": f.url(),
            "phone": f.phone_number(),
            "industry": self.marginals.industry(),
            "billing_street": f.street_address(),
            "billing_city": place.city,
            "billing_postal_code": self.marginals.postal_code(place),
            "billing_country": place.country_code,
            "annual_revenue": float(f.random_int(50_000, 90_000_000)),
            "employee_count": f.random_int(1, 20_000),
            "owner_email": f.company_email(),
            "description": f"{f.catch_phrase()}. Contact {f.name()} at {f.email()}.",
            "created_at": self._micros(),
        }
        self.identifiers.add(row["name"], row["phone"], row["billing_street"], row["owner_email"], row["description"])
        return row

    def new_contact(self) -> dict[str, Any]:
        f = self.fake
        contact_id, self._next_contact = self._next_contact, self._next_contact + 1
        first, last = f.first_name(), f.last_name()
        email = f"{first}.{last}{f.random_int(1, 999)}@{f.free_email_domain()}".lower()
        phone = f.phone_number()
        birth = self.marginals.birth_date(self._today)
        place = self.marginals.place()
        created = self._micros()
        row = {
            "id": contact_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            "birth_date": (birth - EPOCH).days,
            "street": f.street_address(),
            "city": place.city,
            "postal_code": self.marginals.postal_code(place),
            "country": place.country_code,
            "company": f.company(),
            "job_title": self.marginals.job_title(),
            "lifetime_value": round(f.pyfloat(min_value=0, max_value=250_000, right_digits=2), 2),
            "marketing_opt_in": f.boolean(),
            "notes": self._note(first, phone, email, f.sentence()),
            "account_id": f.random_element(list(self.accounts)) if self.accounts else None,
            "created_at": created,
            "updated_at": created,
        }
        self.identifiers.add(email, phone, f"{first} {last}", row["street"], row["notes"])
        return row

    def _note(self, first: str, phone: str, email: str, sentence: str) -> str:
        text, seeded = contact_note(first, phone, email, sentence)
        self.note_entities[text] = seeded
        return text

    def _update(self, row: dict[str, Any], kind: str) -> dict[str, Any]:
        f = self.fake
        changed = dict(row)
        if kind == "contact":
            choice = f.random_int(0, 3)
            if choice == 0:
                changed["email"] = (
                    f"{row['first_name']}.{row['last_name']}{f.random_int(1, 999)}@{f.free_email_domain()}".lower()
                )
            elif choice == 1:
                changed["phone"] = f.phone_number()
            elif choice == 2:
                changed["job_title"] = self.marginals.job_title()
                changed["company"] = f.company()
            else:
                changed["lifetime_value"] = round(float(row["lifetime_value"] or 0) + f.random_int(10, 5000), 2)
            changed["updated_at"] = self._micros()
            self.identifiers.add(changed["email"], changed["phone"])
        else:
            changed["employee_count"] = max(1, int(row["employee_count"] or 1) + f.random_int(-20, 50))
            changed["phone"] = f.phone_number()
            self.identifiers.add(changed["phone"])
        return changed

    # -- envelopes ----------------------------------------------------------------------------------
    def _pg_source(self, table: str, snapshot: str) -> dict[str, Any]:
        self._lsn += self.fake.random_int(8, 400)
        self._tx += 1
        return {
            "version": "2.7.3.Final",
            "connector": "postgresql",
            "name": "crm",
            "ts_ms": self._now_ms,
            "snapshot": snapshot,
            "db": "crm",
            "sequence": f'["{self._lsn - 8}","{self._lsn}"]',
            "ts_us": self._now_ms * 1000,
            "ts_ns": self._now_ms * 1_000_000,
            "schema": "public",
            "table": table,
            "txId": self._tx,
            "lsn": self._lsn,
            "xmin": None,
        }

    def _mysql_source(self, table: str, snapshot: str, query: str | None) -> dict[str, Any]:
        self._pos += self.fake.random_int(100, 900)
        return {
            "version": "2.7.3.Final",
            "connector": "mysql",
            "name": "crmdb",
            "ts_ms": self._now_ms,
            "snapshot": snapshot,
            "db": "crm",
            "sequence": None,
            "ts_us": self._now_ms * 1000,
            "ts_ns": self._now_ms * 1_000_000,
            "table": table,
            "server_id": 223344,
            "gtid": None,
            "file": "mysql-bin.000003",
            "pos": self._pos,
            "row": 0,
            "thread": 7,
            "query": query,
        }

    def _envelope(self, topic: str, op: str, before: Any, after: Any, snapshot: str = "false") -> CdcEvent:
        row = after if after is not None else before
        if topic == CONTACTS_TOPIC:
            source = self._pg_source("contacts", snapshot)
        else:
            query = None
            if op != "r":
                # Synthetic SQL text for the event (never executed): MySQL's source.query quotes values like this.
                query = (
                    f"UPDATE accounts SET phone='{row['phone']}', "  # noqa: S608
                    f"owner_email='{row['owner_email']}' WHERE id={row['id']}"
                )
            source = self._mysql_source("accounts", snapshot, query)
        value = {
            "before": before,
            "after": after,
            "source": source,
            "op": op,
            "ts_ms": self._now_ms + 3,
            "ts_us": (self._now_ms + 3) * 1000,
            "ts_ns": (self._now_ms + 3) * 1_000_000,
            "transaction": None,
        }
        return CdcEvent(topic, {"id": row["id"]}, value)

    def snapshot(self, contacts: int, accounts: int) -> Iterator[CdcEvent]:
        for i in range(accounts):
            row = self.new_account()
            self.accounts[row["id"]] = row
            yield self._envelope(ACCOUNTS_TOPIC, "r", None, row, "last" if i == accounts - 1 else "true")
        for i in range(contacts):
            row = self.new_contact()
            self.contacts[row["id"]] = row
            yield self._envelope(CONTACTS_TOPIC, "r", None, row, "last" if i == contacts - 1 else "true")

    def change(self) -> Iterator[CdcEvent]:
        """One change: mostly contact/account updates, some creates, a few deletes (+ tombstone)."""
        f = self.fake
        roll = f.random_int(0, 99)
        on_contacts = roll < 80 or not self.accounts
        table = self.contacts if on_contacts else self.accounts
        topic = CONTACTS_TOPIC if on_contacts else ACCOUNTS_TOPIC
        kind = "contact" if on_contacts else "account"
        choice = f.random_int(0, 99)
        if choice < 20 or len(table) < 5:
            row = self.new_contact() if on_contacts else self.new_account()
            table[row["id"]] = row
            yield self._envelope(topic, "c", None, row)
        elif choice < 94:
            old = table[f.random_element(list(table))]
            new = self._update(old, kind)
            table[new["id"]] = new
            yield self._envelope(topic, "u", old, new)
        else:
            row = table.pop(f.random_element(list(table)))
            yield self._envelope(topic, "d", row, None)
            yield CdcEvent(topic, {"id": row["id"]}, None)

    def events(self, total: int, snapshot_fraction: float = 0.2) -> Iterator[CdcEvent]:
        """Exactly ``total`` events: a snapshot of about ``snapshot_fraction`` of them, then changes."""
        if total <= 0:
            return
        snap = max(min(total, 2), int(total * snapshot_fraction))
        accounts = max(1, snap // 5)
        produced = 0
        for event in self.snapshot(snap - accounts, accounts):
            if produced >= total:
                return
            yield event
            produced += 1
        while produced < total:
            for event in self.change():
                if produced >= total:
                    return
                yield event
                produced += 1
