"""Synthetic CRM notes with seeded personal data, for scrub_text's recall, precision and cost measurements.

Test data only: Faker and ``random.Random`` are seeded so every run builds the same corpus. Every seeded
entity is valid for its type (Luhn cards, mod-97 IBANs, checksummed national ids, possible phone numbers) and
its offsets in the note are recorded, so recall is measured per entity.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale
from stdnum.us import ssn

SEED = 20251128

# Faker locales whose IBANs fit the IBAN registry (Faker's da_DK and en_IE ones do not).
IBAN_LOCALES = ("de_DE", "fr_FR", "en_GB", "nl_NL", "it_IT", "pl_PL", "pt_PT", "de_AT", "de_CH", "cs_CZ", "fi_FI")
# Faker card types; its Maestro type also uses a "0604" prefix, which is no real issuer: those are skipped.
CARD_TYPES = (
    "visa16",
    "visa13",
    "visa19",
    "mastercard",
    "amex",
    "discover",
    "diners",
    "jcb15",
    "jcb16",
    "maestro",
)
PHONE_REGIONS = ("GB", "DE", "FR", "NL", "ES", "IT", "IN", "AU", "BR", "JP", "MX", "CA")
# Locales of the seeded names (all in the scrub_text lexicon) and locales the lexicon does not include.
NAME_LOCALES = ("en_US", "en_US", "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
UNSEEN_NAME_LOCALES = ("fi_FI", "hu_HU", "tr_TR", "cs_CZ", "ro_RO", "el_GR")
HONORIFICS = ("Mr.", "Mrs.", "Ms.", "Dr.", "Mr", "Ms", "Dr", "Prof.")


@dataclass(frozen=True, slots=True)
class Seeded:
    entity: str
    raw: str
    start: int
    end: int


@dataclass(slots=True)
class Note:
    text: str = ""
    seeded: list[Seeded] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.text += text

    def entity(self, entity: str, raw: str) -> None:
        start = len(self.text)
        self.text += raw
        self.seeded.append(Seeded(entity, raw, start, len(self.text)))


class Generator:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for i, locale in enumerate(sorted({"en_US", *IBAN_LOCALES, *NAME_LOCALES, *UNSEEN_NAME_LOCALES})):
            fake = Faker(locale)
            fake.seed_instance(seed + i)
            self.fakers[locale] = fake
        self.fake = self.fakers["en_US"]

    # -- entities ------------------------------------------------------------------------------------
    def email(self) -> str:
        f = self.fake
        style = self.rng.randrange(5)
        if style == 0:
            return f.email()
        if style == 1:
            return f.company_email()
        if style == 2:
            return f"{f.first_name()}.{f.last_name()}{self.rng.randrange(1, 999)}@{f.free_email_domain()}".lower()
        if style == 3:
            return f"{f.user_name()}+{f.word()}@{f.domain_name(2)}"
        return f"{f.first_name()}.{f.last_name()}@{f.domain_name()}".replace("'", "")

    def card(self) -> str:
        while True:
            number = self.fake.credit_card_number(card_type=self.rng.choice(CARD_TYPES))
            if not number.startswith("0"):
                break
        assert luhn.is_valid(number)
        style = self.rng.randrange(3)
        if style == 0:
            return number
        if len(number) == 15 and number[:2] in ("34", "37"):
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[i : i + 4] for i in range(0, len(number), 4)]
        return (" " if style == 1 else "-").join(groups)

    def iban(self) -> str:
        value = self.fakers[self.rng.choice(IBAN_LOCALES)].iban()
        assert stdnum_iban.is_valid(value, check_country=False)
        return stdnum_iban.format(value) if self.rng.random() < 0.5 else value

    def phone(self) -> str:
        style = self.rng.randrange(6)
        if style <= 2:
            return str(self.fake.phone_number())  # NANP: dashes, dots, parens, x-extensions, +1-, 001-, bare
        if style == 3:
            area, exchange, line = self.rng.randint(201, 989), self.rng.randint(200, 999), self.rng.randint(0, 9999)
            return self.rng.choice(
                [
                    f"+1{area}{exchange}{line:04d}",
                    f"({area}) {exchange}-{line:04d}",
                    f"{area}-{exchange}-{line:04d} ext. {self.rng.randint(1, 9999)}",
                    f"1-{area}-{exchange}-{line:04d}",
                    f"{area} {exchange} {line:04d}",
                ]
            )
        region = self.rng.choice(PHONE_REGIONS)
        example = phonenumbers.example_number(region)
        assert example is not None
        national = str(example.national_number)
        national = national[:-3] + f"{self.rng.randrange(1000):03d}"
        number = phonenumbers.parse(f"+{example.country_code}{national}", None)
        assert phonenumbers.is_possible_number(number)
        fmt = phonenumbers.PhoneNumberFormat.E164 if style == 4 else phonenumbers.PhoneNumberFormat.INTERNATIONAL
        return phonenumbers.format_number(number, fmt)

    def ip(self) -> str:
        f = self.fake
        style = self.rng.randrange(4)
        if style == 0:
            return str(f.ipv4())
        if style == 1:
            return str(f.ipv4_private())
        address = ipaddress.IPv6Address(f.ipv6())
        return address.exploded if style == 2 else address.compressed

    def national_id(self) -> str:
        rng = self.rng
        kind = rng.randrange(7)
        if kind == 0:
            while True:
                area = rng.randint(1, 899)
                value = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
                if ssn.is_valid(value):
                    return value if rng.random() < 0.8 else value.replace("-", " ")
        if kind == 1:
            first, second = rng.choice("ABCEGHJKLMNOPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
            if first + second in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
                first, second = "A", "B"
            digits = [f"{rng.randrange(100):02d}" for _ in range(3)]
            suffix = rng.choice("ABCD")
            return (
                f"{first}{second} {' '.join(digits)} {suffix}"
                if rng.random() < 0.5
                else (f"{first}{second}{''.join(digits)}{suffix}")
            )
        if kind == 2:
            while True:
                body = str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(9))
                value = body + mod_11_10.calc_check_digit(body)
                if idnr.is_valid(value):
                    return value if rng.random() < 0.5 else f"{value[:2]} {value[2:5]} {value[5:8]} {value[8:]}"
        if kind == 3:
            body = (
                f"{rng.choice('12')}{rng.randrange(100):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}"
                f"{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
            )
            value = body + nir.calc_check_digits(body + "00")
            assert nir.is_valid(value)
            return nir.format(value) if rng.random() < 0.5 else value
        if kind == 4:
            body = f"{rng.randrange(10**8):08d}"
            return body + dni.calc_check_digit(body)
        if kind == 5:
            body = rng.choice("XYZ") + f"{rng.randrange(10**7):07d}"
            return body + nie.calc_check_digit(body)
        letters = "".join(rng.choice("BCDFGHLMNPRSTVZ") for _ in range(6))
        day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
        body = (
            f"{letters}{rng.randrange(100):02d}{rng.choice('ABCDEHLMPRST')}{day:02d}"
            f"{rng.choice('ABCDEFGHILM')}{rng.randint(1, 999):03d}"
        )
        value = body + codicefiscale.calc_check_digit(body)
        assert codicefiscale.is_valid(value)
        return value

    def name_parts(self, locales: tuple[str, ...] = NAME_LOCALES) -> tuple[str, str]:
        fake = self.fakers[self.rng.choice(locales)]
        return str(fake.first_name()), str(fake.last_name())

    # -- notes ---------------------------------------------------------------------------------------
    def _person(self, note: Note, style: int | None = None, locales: tuple[str, ...] = NAME_LOCALES) -> None:
        first, last = self.name_parts(locales)
        style = self.rng.randrange(3) if style is None else style
        if style == 0:
            note.entity("PERSON", f"{first} {last}")
        elif style == 1:
            note.entity("PERSON", first)
        else:
            note.entity("PERSON", f"{self.rng.choice(HONORIFICS)} {last}")

    def clause(self, note: Note) -> None:
        rng = self.rng
        kind = rng.randrange(11)
        if kind == 0:
            note.add("Called ")
            self._person(note, style=rng.choice((0, 1)))
            note.add(" on ")
            note.entity("PHONE", self.phone())
            note.add(". ")
        elif kind == 1:
            note.add("Prefers email ")
            note.entity("EMAIL", self.email())
            note.add(rng.choice((". ", " for invoices. ", ", not phone. ")))
        elif kind == 2:
            self._person(note, style=0)
            note.add(" asked to update the card on file to ")
            note.entity("CREDIT_CARD", self.card())
            note.add(". ")
        elif kind == 3:
            note.add("Refund to IBAN ")
            note.entity("IBAN", self.iban())
            note.add(rng.choice((" approved. ", ". ", " (verified by phone). ")))
        elif kind == 4:
            note.add("Login from ")
            note.entity("IP_ADDRESS", self.ip())
            note.add(" flagged by security. ")
        elif kind == 5:
            note.add(rng.choice(("ID verified: ", "Tax id ", "Customer supplied ")))
            note.entity("NATIONAL_ID", self.national_id())
            note.add(". ")
        elif kind == 6:
            note.add("Spoke with ")
            self._person(note, style=2)
            note.add(" about the renewal. ")
        elif kind == 7:
            note.add("Dear ")
            self._person(note, style=1)
            note.add(", thanks for your order. ")
        elif kind == 8:
            note.add("Callback requested at ")
            note.entity("PHONE", self.phone())
            note.add(" (ask for ")
            self._person(note, style=0)
            note.add("). ")
        elif kind == 9:
            note.add("Met ")
            self._person(note, style=0)
            note.add(" at the conference; follow up via ")
            note.entity("EMAIL", self.email())
            note.add(". ")
        else:
            note.add("Card ")
            note.entity("CREDIT_CARD", self.card())
            note.add(" declined, customer will call from ")
            note.entity("PHONE", self.phone())
            note.add(". ")

    def note(self) -> Note:
        note = Note()
        for _ in range(self.rng.choice((1, 1, 2))):
            if self.rng.random() < 0.7:
                note.add(str(self.fake.sentence()) + " ")
            self.clause(note)
        if self.rng.random() < 0.7:
            note.add(str(self.fake.sentence()))
        note.text = note.text.rstrip()
        return note

    def unseen_name_note(self) -> Note:
        """A note naming a person from a locale the lexicon does not include."""
        note = Note()
        style = self.rng.randrange(3)
        note.add(("Met ", "Spoke with ", "Notes from ")[style])
        self._person(note, style=(0, 2, 0)[style], locales=UNSEEN_NAME_LOCALES)
        note.add(" about pricing.")
        return note


def build_corpus(size: int = 2000, seed: int = SEED) -> list[Note]:
    generator = Generator(seed)
    return [generator.note() for _ in range(size)]


def build_unseen_name_notes(size: int = 300, seed: int = SEED) -> list[Note]:
    generator = Generator(seed + 1)
    return [generator.unseen_name_note() for _ in range(size)]


Finder = Callable[[str], list[tuple[int, int, str]]]


def recall_by_entity(notes: list[Note], find: Finder) -> dict[str, tuple[int, int]]:
    """entity -> (found, seeded): a seeded entity is found when one finding of its type covers all of it."""
    totals: dict[str, list[int]] = {}
    for note in notes:
        spans = find(note.text)
        for seeded in note.seeded:
            counts = totals.setdefault(seeded.entity, [0, 0])
            counts[1] += 1
            if any(t == seeded.entity and s <= seeded.start and e >= seeded.end for s, e, t in spans):
                counts[0] += 1
    return {entity: (found, total) for entity, (found, total) in totals.items()}
