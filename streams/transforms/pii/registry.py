"""Every entity type and the scanner built from the chosen detectors (the package docstring lists them)."""

from __future__ import annotations

from collections.abc import Iterable

from streams.transforms.pii.address import ADDRESS, address_detectors
from streams.transforms.pii.base import Detector, Hit, Span
from streams.transforms.pii.contact import (
    DEFAULT_PHONE_REGIONS,
    EMAIL,
    PHONE,
    URL_CREDENTIALS,
    contact_detectors,
    phone_detectors,
)
from streams.transforms.pii.dates import DATE, date_detectors
from streams.transforms.pii.financial import CREDIT_CARD, IBAN, financial_detectors
from streams.transforms.pii.names import PERSON, name_detectors, shared_finder
from streams.transforms.pii.names_cased import cased_name_detectors
from streams.transforms.pii.national_id import (
    DEFAULT_NATIONAL_IDS,
    NATIONAL_ID,
    NATIONAL_ID_KINDS,
    national_id_detectors,
)
from streams.transforms.pii.network import IP_ADDRESS, network_detectors
from streams.transforms.pii.obfuscated_email import obfuscated_email_detectors
from streams.transforms.pii.scanner import Scanner, redact

ENTITY_TYPES = (
    EMAIL,
    PHONE,
    CREDIT_CARD,
    IBAN,
    IP_ADDRESS,
    NATIONAL_ID,
    PERSON,
    URL_CREDENTIALS,
    ADDRESS,
    DATE,
)


def build_scanner(
    entities: Iterable[str] = ENTITY_TYPES,
    default_region: str = "US",
    national_ids: Iterable[str] = DEFAULT_NATIONAL_IDS,
    phone_regions: Iterable[str] = DEFAULT_PHONE_REGIONS,
) -> Scanner:
    """A scanner for the given entity types. The order of the detectors is their priority where candidates
    start at the same position: cards before the number-shaped national ids (a 15-digit JCB card can pass the
    French NIR key), dates and addresses before phones (``12.03.1984``, ``12 Main St``), phones after them,
    names last. Swept detectors run after the trigger pass, in this order too: obfuscated emails absorb what
    they overlap, dates of birth too, names in lower case or capitals only fill gaps."""
    wanted = frozenset(entities)
    unknown = wanted - set(ENTITY_TYPES)
    if unknown:
        raise ValueError(f"unknown entity types: {sorted(unknown)}")
    detectors: list[Detector] = [
        *contact_detectors(wanted),
        *network_detectors(wanted),
        *financial_detectors(wanted),
        *national_id_detectors(wanted, frozenset(national_ids)),
        *date_detectors(wanted),
        *address_detectors(wanted),
        *phone_detectors(wanted, default_region, tuple(phone_regions)),
    ]
    if PERSON in wanted:
        finder = shared_finder()
        detectors += [*name_detectors(wanted, finder), *cased_name_detectors(wanted, finder)]
    detectors += obfuscated_email_detectors(wanted)
    return Scanner(detectors)


__all__ = [
    "ADDRESS",
    "CREDIT_CARD",
    "DATE",
    "DEFAULT_NATIONAL_IDS",
    "DEFAULT_PHONE_REGIONS",
    "EMAIL",
    "ENTITY_TYPES",
    "IBAN",
    "IP_ADDRESS",
    "NATIONAL_ID",
    "NATIONAL_ID_KINDS",
    "PERSON",
    "PHONE",
    "URL_CREDENTIALS",
    "Detector",
    "Hit",
    "Scanner",
    "Span",
    "build_scanner",
    "redact",
]
