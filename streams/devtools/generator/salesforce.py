"""Realistic Salesforce Change Data Capture events (Pub/Sub API shape) for Contact and Account.

Each event is a ``<Object>ChangeEvent`` value as schemas/salesforce/ describes it: the ``ChangeEventHeader``
then every object field, null unless the change carries it. Creates and undeletes carry the whole record;
updates are sparse (only the changed fields, compound fields with only their changed sub-fields) and their
``changedFields``/``nulledFields`` are bitmaps computed from the schema's field positions, as the Pub/Sub API
sends them; deletes carry the header only. A few events change several records at once (several
``recordIds``), and a few are gap events (``GAP_*``, header only) or overflow events (``GAP_OVERFLOW`` with
the placeholder ID). The Kafka key is ``{"recordId": <first record ID>}``.

Synthetic data only: Faker is seeded for repeatable test runs, this is not privacy randomness.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from faker import Faker

from streams.avro.types import expand, split_nullable
from streams.devtools.generator.debezium import CdcEvent, Identifiers
from streams.devtools.generator.marginals import Marginals
from streams.settings import SCHEMA_DIR as SCHEMAS

CONTACT_TOPIC = "sfdc.ContactChangeEvent"
ACCOUNT_TOPIC = "sfdc.AccountChangeEvent"
TOPICS = (CONTACT_TOPIC, ACCOUNT_TOPIC)
SCHEMA_DIR = SCHEMAS / "salesforce"
OVERFLOW_ID = "000000000000000AAA"
KEY_PREFIX = {CONTACT_TOPIC: "003", ACCOUNT_TOPIC: "001"}
ENTITY = {CONTACT_TOPIC: "Contact", ACCOUNT_TOPIC: "Account"}
GAP_TYPES = ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE")
EPOCH = dt.date(1970, 1, 1)

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_CLIENTS = ("SfdcInternalAPI/", "devconsole", "DataLoaderBulkUI/", "AcmeSync-Integration/", "Workbench/")


class SchemaLayout:
    """Field positions of one change event schema: what the bitmaps index."""

    def __init__(self, schema: dict[str, Any]) -> None:
        record = expand(schema)
        self.fields: tuple[str, ...] = tuple(str(f["name"]) for f in record["fields"])
        self.position = {name: i for i, name in enumerate(self.fields)}
        self.children: dict[str, tuple[str, ...]] = {}
        for fld in record["fields"][1:]:
            inner, _ = split_nullable(fld["type"])
            if isinstance(inner, dict) and inner.get("type") == "record":
                self.children[str(fld["name"])] = tuple(str(f["name"]) for f in inner["fields"])

    def bitmap(self, names: Sequence[str]) -> list[str]:
        """Names (``Email``, ``MailingAddress.City``) as the Pub/Sub API encodes them: ``0x<top-level bits>``
        (left out when no top-level field is named) then ``<pos>-0x<sub-field bits>`` per compound field."""
        top = 0
        nested: dict[int, int] = {}
        for name in names:
            parent, _, child = name.partition(".")
            position = self.position[parent]
            if child:
                nested[position] = nested.get(position, 0) | 1 << self.children[parent].index(child)
            else:
                top |= 1 << position
        out = [f"0x{_hex(top)}"] if top else []
        return out + [f"{position}-0x{_hex(bits)}" for position, bits in sorted(nested.items())]

    def empty_body(self) -> dict[str, Any]:
        return dict.fromkeys(self.fields[1:])


def _hex(value: int) -> str:
    digits = f"{value:X}"
    return digits if len(digits) % 2 == 0 else f"0{digits}"


@cache
def value_schema(topic: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{topic}-value.avsc").read_text())
    return schema


def salesforce_id(prefix: str, body: str) -> str:
    """An 18-character ID: 3-character key prefix + 12 characters, then the case-safe checksum suffix."""
    base = (prefix + body)[:15]
    suffix = ""
    for chunk in (base[0:5], base[5:10], base[10:15]):
        flags = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _CHECKSUM[flags]
    return base + suffix


class SalesforceCdcGenerator:
    def __init__(self, seed: int | None = 7, locale: str = "en_US") -> None:
        self.fake = Faker(locale)
        if seed is not None:
            self.fake.seed_instance(seed)
        self.layouts = {topic: SchemaLayout(value_schema(topic)) for topic in TOPICS}
        self.identifiers = Identifiers()
        self.records: dict[str, dict[str, dict[str, Any]]] = {topic: {} for topic in TOPICS}
        self.deleted: dict[str, dict[str, dict[str, Any]]] = {topic: {} for topic in TOPICS}
        self.users = [self._new_id("005") for _ in range(6)]
        self.identifiers.add(*self.users)
        self.identifiers.add(*(c.rstrip("/") for c in _CLIENTS))
        self._now_ms = 1_760_000_000_000
        self.marginals = Marginals(self.fake)  # countries, Zipf cities, ages, titles: generator/marginals.py
        self._today = dt.date(2025, 10, 9)

    # -- values -------------------------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        pod = self.fake.random_element(["5g", "8d", "4H", "ak"])
        rest = "".join(self.fake.random_element(_BASE62) for _ in range(6))
        return salesforce_id(prefix, f"{pod}0000{rest}")

    def _tick(self) -> int:
        self._now_ms += self.fake.random_int(50, 90_000)
        return self._now_ms

    def _address(self) -> dict[str, Any]:
        f = self.fake
        place = self.marginals.place()
        address = {
            "Street": f.street_address(),
            "City": place.city,
            "State": place.state,
            "PostalCode": self.marginals.postal_code(place),
            "Country": place.country,
            "StateCode": place.state,
            "CountryCode": place.country_code,
            "Latitude": float(f.latitude()),
            "Longitude": float(f.longitude()),
            "Xyz": None,
            "GeocodeAccuracy": f.random_element(["Address", "Zip", "City", None]),
        }
        self.identifiers.add(address["Street"])
        return address

    def _phone(self) -> str:
        phone = self.fake.phone_number()
        self.identifiers.add(phone)
        return phone

    def _email(self, first: str, last: str) -> str:
        email = f"{first}.{last}{self.fake.random_int(1, 999)}@{self.fake.free_email_domain()}".lower()
        self.identifiers.add(email)
        return email

    def new_contact(self, record_id: str) -> dict[str, Any]:
        f = self.fake
        first, last = f.first_name(), f.last_name()
        email = self._email(first, last)
        phone = self._phone()
        birth = self.marginals.birth_date(self._today)
        created = self._tick()
        owner = f.random_element(self.users)
        contacts = [c for c in self.records[CONTACT_TOPIC] if c != record_id]
        accounts = list(self.records[ACCOUNT_TOPIC])
        row: dict[str, Any] = {
            "AccountId": f.random_element(accounts) if accounts else None,
            "Name": {
                "Salutation": f.random_element(["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", None]),
                "FirstName": first,
                "LastName": last,
                "MiddleName": f.first_name() if f.random_int(0, 4) == 0 else None,
                "Suffix": f.random_element(["Jr.", "III"]) if f.random_int(0, 19) == 0 else None,
            },
            "OtherAddress": self._address() if f.random_int(0, 4) == 0 else None,
            "MailingAddress": self._address(),
            "Phone": phone,
            "Fax": None,
            "MobilePhone": self._phone() if f.boolean() else None,
            "HomePhone": self._phone() if f.random_int(0, 4) == 0 else None,
            "OtherPhone": None,
            "AssistantPhone": None,
            "ReportsToId": f.random_element(contacts) if contacts and f.random_int(0, 3) == 0 else None,
            "Email": email,
            "Title": self.marginals.job_title(),
            "Department": f.random_element(["Sales", "Finance", "Operations", "IT", "Marketing", "Legal"]),
            "AssistantName": None,
            "LeadSource": f.random_element(["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]),
            "Birthdate": (birth - EPOCH).days * 86_400_000,  # Date: epoch millis at midnight UTC
            "Description": f"Met {first} {last} at a trade fair; call {phone} or write to {email}.",
            "OwnerId": owner,
            "HasOptedOutOfEmail": f.boolean(chance_of_getting_true=15),
            "HasOptedOutOfFax": True,
            "DoNotCall": f.boolean(chance_of_getting_true=10),
            "CreatedDate": created,
            "CreatedById": owner,
            "LastModifiedDate": created,
            "LastModifiedById": owner,
            "EmailBouncedReason": None,
            "EmailBouncedDate": None,
            "Jigsaw": None,
            "JigsawContactId": None,
            "CleanStatus": f.random_element(["Pending", "Matched", "Different", "NotFound"]),
            "IndividualId": self._new_id("0PK") if f.random_int(0, 2) == 0 else None,
        }
        self.identifiers.add(f"{first} {last}", row["Description"], row["IndividualId"])
        return row

    def new_account(self, record_id: str) -> dict[str, Any]:
        f = self.fake
        name = f.company()
        billing = self._address()
        created = self._tick()
        owner = f.random_element(self.users)
        others = [a for a in self.records[ACCOUNT_TOPIC] if a != record_id]
        row: dict[str, Any] = {
            "Name": name,
            "Type": f.random_element(["Customer - Direct", "Customer - Channel", "Prospect", "Partner"]),
            "ParentId": f.random_element(others) if others and f.random_int(0, 5) == 0 else None,
            "BillingAddress": billing,
            "ShippingAddress": dict(billing) if f.boolean() else None,
            "Phone": self._phone(),
            "Fax": self._phone() if f.random_int(0, 3) == 0 else None,
            "AccountNumber": f"CD{f.random_int(100_000, 999_999)}",
            "Website": f.url(),
            "Sic": str(f.random_int(1000, 9999)),
            "Industry": f.random_element(["Retail", "Technology", "Finance", "Healthcare", "Energy", "Media"]),
            "AnnualRevenue": float(f.random_int(50_000, 900_000_000)),
            "NumberOfEmployees": f.random_int(1, 40_000),
            "Ownership": f.random_element(["Public", "Private", "Subsidiary", "Other"]),
            "TickerSymbol": None,
            "Description": f"{f.catch_phrase()}. Key contact {f.name()} ({f.email()}).",
            "Rating": f.random_element(["Hot", "Warm", "Cold", None]),
            "Site": None,
            "OwnerId": owner,
            "CreatedDate": created,
            "CreatedById": owner,
            "LastModifiedDate": created,
            "LastModifiedById": owner,
            "Jigsaw": None,
            "JigsawCompanyId": None,
            "CleanStatus": f.random_element(["Pending", "Matched", "Different"]),
            "AccountSource": f.random_element(["Web", "Partner Referral", "Trade Show", None]),
            "DunsNumber": str(f.random_int(100_000_000, 999_999_999)),
            "Tradestyle": None,
            "NaicsCode": str(f.random_int(111_110, 928_120)),
            "NaicsDesc": f.random_element(["Software Publishers", "Commercial Banking", "Grocery Stores"]),
            "YearStarted": str(f.random_int(1950, 2022)),
            "SicDesc": f.random_element(["Prepackaged Software", "National Commercial Banks", "Grocery Stores"]),
            "DandbCompanyId": None,
        }
        self.identifiers.add(name, row["Description"], row["AccountNumber"], row["Website"], row["DunsNumber"])
        return row

    # -- events -------------------------------------------------------------------------------------------
    def _header(
        self,
        topic: str,
        record_ids: list[str],
        change_type: str,
        user: str,
        changed: Sequence[str] = (),
        nulled: Sequence[str] = (),
        now: int | None = None,
    ) -> dict[str, Any]:
        f = self.fake
        layout = self.layouts[topic]
        gap = change_type.startswith("GAP_")
        if gap:
            origin = ""
        else:
            family = f.random_element(["soap", "rest"])
            origin = (
                f"com/salesforce/api/{family}/{f.random_element(['61.0', '62.0'])};client={f.random_element(_CLIENTS)}"
            )
        now = self._tick() if now is None else now
        return {
            "entityName": ENTITY[topic],
            "recordIds": record_ids,
            "changeType": change_type,
            "changeOrigin": origin,
            "transactionKey": f.uuid4(),
            "sequenceNumber": 1,
            "commitTimestamp": now,
            "commitNumber": now * 1_000_000 + f.random_int(0, 999_999),  # passes 2^53, as real ones do
            "commitUser": user,
            "nulledFields": layout.bitmap(nulled),
            "diffFields": [],
            "changedFields": layout.bitmap(changed),
        }

    def _event(self, topic: str, header: dict[str, Any], body: dict[str, Any] | None = None) -> CdcEvent:
        value = {"ChangeEventHeader": header, **self.layouts[topic].empty_body()}
        if body:
            value.update(body)
        return CdcEvent(topic, {"recordId": header["recordIds"][0]}, value)

    def create(self, topic: str) -> CdcEvent:
        record_id = self._new_id(KEY_PREFIX[topic])
        self.identifiers.add(record_id)
        row = self.new_contact(record_id) if topic == CONTACT_TOPIC else self.new_account(record_id)
        self.records[topic][record_id] = row
        header = self._header(topic, [record_id], "CREATE", row["CreatedById"], now=row["CreatedDate"])
        return self._event(topic, header, row)

    def _contact_change(self, row: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Changed values (compounds with only their changed sub-fields) and the nulled field names."""
        f = self.fake
        choice = f.random_int(0, 9)
        name = row["Name"] or {}
        if choice == 0:
            return {"Email": self._email(name.get("FirstName") or "x", name.get("LastName") or "y")}, []
        if choice == 1:
            return {"Phone": self._phone()}, []
        if choice == 2:
            return {"MobilePhone": None}, ["MobilePhone"]
        if choice == 3:
            return {"Title": self.marginals.job_title(), "Department": f.random_element(["Sales", "IT", "Legal"])}, []
        if choice == 4:
            moved = self._address()
            return {
                "MailingAddress": {"Street": moved["Street"], "City": moved["City"], "PostalCode": moved["PostalCode"]}
            }, []
        if choice == 5:
            last = f.last_name()
            self.identifiers.add(f"{name.get('FirstName')} {last}")
            return {"Name": {"LastName": last}}, []
        if choice == 6 and name.get("MiddleName"):
            return {"Name": {"MiddleName": None}}, ["Name.MiddleName"]  # only a sub-field nulled
        if choice == 7:
            return {"Title": None}, ["Title"]
        if choice == 8:
            return {"HasOptedOutOfEmail": not row["HasOptedOutOfEmail"]}, []
        description = f"Follow-up with {name.get('FirstName')} on {f.date_this_year()}: {f.sentence()}"
        self.identifiers.add(description)
        return {"Description": description}, []

    def _account_change(self, row: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        f = self.fake
        choice = f.random_int(0, 6)
        if choice == 0:
            return {"Phone": self._phone()}, []
        if choice == 1:
            moved = self._address()
            nulled = [] if moved["State"] is not None else ["BillingAddress.State"]
            return {"BillingAddress": {"City": moved["City"], "State": moved["State"]}}, nulled
        if choice == 2:
            return {"NumberOfEmployees": max(1, int(row["NumberOfEmployees"] or 1) + f.random_int(-50, 200))}, []
        if choice == 3:
            return {"AnnualRevenue": float(f.random_int(50_000, 900_000_000))}, []
        if choice == 4:
            return {"Rating": f.random_element(["Hot", "Warm", "Cold"])}, []
        if choice == 5 and row["Fax"] is not None:
            return {"Fax": None}, ["Fax"]
        website = f.url()
        self.identifiers.add(website)
        return {"Website": website}, []

    @staticmethod
    def _names(values: dict[str, Any]) -> list[str]:
        names: list[str] = []
        for name, value in values.items():
            if isinstance(value, dict):
                names.extend(f"{name}.{child}" for child in value)
            else:
                names.append(name)
        return names

    def _apply(self, topic: str, record_id: str, changes: dict[str, Any]) -> None:
        row = self.records[topic][record_id]
        for name, value in changes.items():
            if isinstance(value, dict):
                row[name] = {**dict.fromkeys(self.layouts[topic].children[name]), **(row[name] or {}), **value}
            else:
                row[name] = value

    def _sparse(self, topic: str, changes: dict[str, Any]) -> dict[str, Any]:
        """The event body of an update: compound fields carry their changed sub-fields, the others null."""
        body: dict[str, Any] = {}
        for name, value in changes.items():
            if isinstance(value, dict):
                body[name] = {**dict.fromkeys(self.layouts[topic].children[name]), **value}
            else:
                body[name] = value
        return body

    def update(self, topic: str) -> CdcEvent:
        f = self.fake
        table = self.records[topic]
        user = f.random_element(self.users)
        if f.random_int(0, 19) == 0 and len(table) >= 3:
            # The same change to several records in one transaction: one event, several recordIds.
            ids = [str(i) for i in f.random_elements(list(table), length=f.random_int(2, 3), unique=True)]
            changes: dict[str, Any] = {"OwnerId": f.random_element(self.users)}
            nulled: list[str] = []
        else:
            ids = [str(f.random_element(list(table)))]
            row = table[ids[0]]
            changes, nulled = self._contact_change(row) if topic == CONTACT_TOPIC else self._account_change(row)
        now = self._tick()
        changes["LastModifiedDate"] = now
        if any(table[i]["LastModifiedById"] != user for i in ids):
            changes["LastModifiedById"] = user
        for record_id in ids:
            self._apply(topic, record_id, changes)
        header = self._header(topic, ids, "UPDATE", user, self._names(changes), nulled, now)
        return self._event(topic, header, self._sparse(topic, changes))

    def delete(self, topic: str) -> CdcEvent:
        f = self.fake
        record_id = str(f.random_element(list(self.records[topic])))
        self.deleted[topic][record_id] = self.records[topic].pop(record_id)
        return self._event(topic, self._header(topic, [record_id], "DELETE", f.random_element(self.users)))

    def undelete(self, topic: str) -> CdcEvent:
        f = self.fake
        record_id = str(f.random_element(list(self.deleted[topic])))
        row = self.deleted[topic].pop(record_id)
        user = f.random_element(self.users)
        row["LastModifiedDate"] = now = self._tick()
        row["LastModifiedById"] = user
        self.records[topic][record_id] = row
        return self._event(topic, self._header(topic, [record_id], "UNDELETE", user, now=now), row)

    def gap(self, topic: str) -> CdcEvent:
        """A gap event: Salesforce could not build the full change (header only, body null)."""
        f = self.fake
        change_type = str(f.random_element(GAP_TYPES))
        table = self.records[topic]
        if change_type == "GAP_CREATE" or not table:
            change_type = "GAP_CREATE"
            record_id = self._new_id(KEY_PREFIX[topic])
            self.identifiers.add(record_id)
            table[record_id] = self.new_contact(record_id) if topic == CONTACT_TOPIC else self.new_account(record_id)
        elif change_type == "GAP_UNDELETE" and self.deleted[topic]:
            record_id = str(f.random_element(list(self.deleted[topic])))
            table[record_id] = self.deleted[topic].pop(record_id)
        elif change_type == "GAP_DELETE":
            record_id = str(f.random_element(list(table)))
            self.deleted[topic][record_id] = table.pop(record_id)
        else:
            change_type = "GAP_UPDATE"
            record_id = str(f.random_element(list(table)))
        return self._event(topic, self._header(topic, [record_id], change_type, f.random_element(self.users)))

    def overflow(self, topic: str) -> CdcEvent:
        """More changes in one transaction than Salesforce sends events for: one overflow event."""
        header = self._header(topic, [OVERFLOW_ID], "GAP_OVERFLOW", self.fake.random_element(self.users))
        return self._event(topic, header)

    def change(self) -> CdcEvent:
        f = self.fake
        topic = CONTACT_TOPIC if f.random_int(0, 99) < 70 else ACCOUNT_TOPIC
        table = self.records[topic]
        roll = f.random_int(0, 99)
        if roll < 15 or len(table) < 4:
            return self.create(topic)
        if roll < 80:
            return self.update(topic)
        if roll < 87:
            return self.delete(topic)
        if roll < 91 and self.deleted[topic]:
            return self.undelete(topic)
        if roll < 98:
            return self.gap(topic) if roll >= 91 else self.update(topic)
        return self.overflow(topic)

    def events(self, total: int) -> Iterator[CdcEvent]:
        """Exactly ``total`` events: a few accounts and contacts first, then a mix of changes."""
        produced = 0
        while produced < total:
            if produced < 3:
                yield self.create(ACCOUNT_TOPIC)
            elif produced < 8:
                yield self.create(CONTACT_TOPIC)
            else:
                yield self.change()
            produced += 1
