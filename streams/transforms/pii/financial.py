"""CREDIT_CARD and IBAN detectors.

Cards: 12 to 19 digits, optionally grouped with spaces or dashes, that pass the Luhn check and start like a
payment card (issuer prefixes: 3, 4, 5, 6 for 13-19 digits; Mastercard 2221-2720 for 16; the old JCB 1800 /
2131 for 15; Maestro 50 / 56-69 for 12, only when the whole candidate is 12 digits). A greedy candidate that
fails is retried without its trailing space-separated groups, down to 13 digits: a card followed by another
number is found, at the price that a space-grouped 19-digit number failing Luhn can still hold a 16-digit
card in its first four groups.

IBANs: two letters, two check digits and 11 to 30 letters or digits, grouped with spaces or dashes or not,
upper case; confirmed by the country's length and BBAN structure in python-stdnum's copy of the SWIFT IBAN
registry and by the ISO 7064 mod-97 checksum (what ``stdnum.iban.is_valid(check_country=False)`` checks).
Trailing groups are dropped one by one when the candidate ran on into following words.
"""

from __future__ import annotations

import re
import string
from functools import cache

from stdnum import luhn, numdb

from streams.transforms.pii.base import Detector, Hit, cut_points, digits_of, single

CREDIT_CARD = "CREDIT_CARD"
IBAN = "IBAN"

CARD_PATTERN = r"(?<![\w.\-+/])\d(?:[ \-]?\d){11,18}(?![\w]|[.\-]\d)"
IBAN_PATTERN = r"(?<![\w\-])[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]){11,30}(?![A-Z0-9])"

# Shorter prefixes are tried at spaces only: a dash-grouped number is one token, while a space can separate
# a card from a following number ("4111 1111 1111 1111 123" with its CVV).
_CARD_CUTS = " "
_IBAN_SEPARATORS = " -"


def issuer_plausible(digits: str) -> bool:
    length = len(digits)
    if length == 12:
        return digits[:2] == "50" or "56" <= digits[:2] <= "69"
    if length == 15 and digits[:4] in ("1800", "2131"):
        return True
    if length == 16 and "2221" <= digits[:4] <= "2720":
        return True
    return digits[0] in "3456"


def is_card_number(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and issuer_plausible(digits) and luhn.checksum(digits) == 0


def _card(text: str, start: int, end: int) -> Hit | None:
    candidate = text[start:end]
    digits = digits_of(candidate)
    if is_card_number(digits):
        return single(start, end, CREDIT_CARD)
    # Shorter prefixes ending before a space, longest first, down to 13 digits.
    groups = candidate.split(_CARD_CUTS)
    stop, count = end, len(digits)
    for group in reversed(groups[1:]):
        stop -= len(group) + 1
        count -= len(digits_of(group))
        if count < 13:
            break
        if is_card_number(digits[:count]):
            return single(start, stop, CREDIT_CARD)
    return None


_BBAN_PART = re.compile(r"(\d+)!([nac])")
_BBAN_CLASSES = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}
_LETTER_VALUES = {ord(letter): str(value) for value, letter in enumerate(string.ascii_uppercase, start=10)}


@cache
def bban_structure(country: str) -> re.Pattern[str] | None:
    """The BBAN structure of a country's IBANs, from python-stdnum's copy of the SWIFT IBAN registry (read
    once per country: stdnum's own ``iban.is_valid`` looks it up for every call, ~50 µs)."""
    info = numdb.get("iban").info(country)
    bban = info[0][1].get("bban", "") if info else ""
    if not bban:
        return None
    parts = _BBAN_PART.findall(bban)
    return re.compile("".join(f"{_BBAN_CLASSES[kind]}{{{count}}}" for count, kind in parts))


def mod97_ok(compact: str) -> bool:
    """ISO 7064 mod 97-10 over the rearranged IBAN (letters as 10-35): the remainder must be 1."""
    rearranged = (compact[4:] + compact[:4]).translate(_LETTER_VALUES)
    return rearranged.isdigit() and rearranged.isascii() and int(rearranged) % 97 == 1


def is_iban(candidate: str) -> bool:
    compact = "".join(ch for ch in candidate if ch.isalnum()).upper()
    if len(compact) < 15 or not (compact[:2].isascii() and compact[:2].isalpha()):
        return False
    structure = bban_structure(compact[:2])
    # The country's registered length and BBAN structure, and the checksum. The national check digits inside
    # the BBAN are not required: several countries' are not public or not enforced by banks.
    return (
        structure is not None
        and structure.fullmatch(compact, 4) is not None
        and compact[2:4].isdigit()
        and mod97_ok(compact)
    )


def _iban(text: str, start: int, end: int) -> Hit | None:
    for stop in cut_points(text, start, end, _IBAN_SEPARATORS):
        if stop - start < 15:
            return None
        if is_iban(text[start:stop]):
            return single(start, stop, IBAN)
    return None


def financial_detectors(entities: frozenset[str]) -> list[Detector]:
    found: list[Detector] = []
    if IBAN in entities:
        found.append(Detector("iban", IBAN, "upper", IBAN_PATTERN, _iban))
    if CREDIT_CARD in entities:
        found.append(Detector("credit_card", CREDIT_CARD, "digit", CARD_PATTERN, _card))
    return found
