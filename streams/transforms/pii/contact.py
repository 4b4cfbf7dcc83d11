"""EMAIL, URL_CREDENTIALS and PHONE detectors.

Emails: a structural match (local part, ``@``, dotted domain ending in a letters-only top-level label);
no further validation: an email-shaped string is always redacted, with whatever it is glued to on the left.
URL credentials: the ``user:password`` part of ``scheme://user:password@host`` (only that part is replaced,
the host stays).

Phones: three candidate shapes (international with ``+``/``00``/``011``; North American 3-3-4 with optional
``1``, parentheses, dashes, dots or spaces; national with a leading trunk ``0``), each with an optional
extension (``x123``, ``ext. 123``), then confirmed with ``phonenumbers`` against ``default_region``:
``is_possible_number`` for formatted candidates (for a 3-3-4 candidate in a North American region that
answer follows from the shape, and the library is not called); an unformatted run of digits must be
``is_valid_number`` or, in a North American region, have the NANP shape (area code and exchange not starting
with 0 or 1), so that bare order numbers are not taken for phones. National-format candidates that read as
dates are rejected.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

from streams.transforms.pii.base import Detector, Hit, cut_points, digits_of, single

EMAIL = "EMAIL"
PHONE = "PHONE"
URL_CREDENTIALS = "URL_CREDENTIALS"

# Located from the '@': the local part is the whole run of local-part characters before it (at most 64), the
# domain ends at its last letters-only label whatever follows. An email glued into other text is still
# covered entirely.
EMAIL_PATTERN = r"[\w.%+'\-]{1,64}@(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}"
_EMAIL_LOCAL = re.compile(r"[\w.%+'\-]{1,64}\Z")
_EMAIL_DOMAIN = re.compile(r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}")
# Matched at "://"; only the userinfo after it is the finding. A password may contain a raw '@': the greedy run
# takes everything up to the last '@' before the path.
URL_CREDENTIALS_PATTERN = r"://[^\s/?#@]+(?:@[^\s/?#@]+)*(?=@[\w\[])"

_EXT = r"(?:[ ]?(?:[xX#]|[eE]xt\.?|[eE]xtn\.?|[eE]xtension)[ ]?\d{1,6})?"
_PHONE_START = r"(?<![\w+\-./@])"
PHONE_INTL_PATTERN = _PHONE_START + r"(?:\+|00|011)[ \-.]?\d{1,3}(?:[ \-.]?\(?\d{1,5}\)?){1,6}" + _EXT + r"(?!\w)"
PHONE_NANP_PATTERN = (
    _PHONE_START + r"(?:1[ \-.]?)?(?:\(\d{3}\)[ \-.]?|\d{3}[ \-.]?)\d{3}[ \-.]?\d{4}" + _EXT + r"(?![\w]|[.\-]\d)"
)
PHONE_NATIONAL_PATTERN = (
    _PHONE_START + r"(?:\(0\d{1,4}\)|0\d{1,4})[ \-./]?\d{2,8}(?:[ \-.]\d{2,4}){0,3}" + _EXT + r"(?![\w]|[.\-/]\d)"
)

# Numbers without a trunk 0 that European plans write in groups: Spanish 612 34 56 78 / 91 123 45 67,
# Italian mobiles 347 123 4567 (the NANP pattern takes 3-3-4 first).
PHONE_GROUPED_PATTERN = _PHONE_START + r"[1-9]\d{1,2}(?:[ .\-]\d{2,4}){2,4}" + _EXT + r"(?![\w]|[.\-/]\d)"

#: Regions tried, after the default region, for numbers in national format (a trunk 0, or grouped digits
#: without one). A number must be *valid* there (an assigned range of that plan), not just possible.
DEFAULT_PHONE_REGIONS = ("GB", "DE", "FR", "IT", "ES", "NL")

_DATE = re.compile(r"\d{1,4}([./\-])\d{1,2}\1\d{1,4}")
_NANP_BARE = re.compile(r"1?[2-9]\d\d[2-9]\d{6}")
_SEPARATORS = " -."


def locate_email(text: str, at: int) -> tuple[int, int] | None:
    """The email around the '@' at ``at``: (start, end), or None."""
    if at == 0 or at + 1 >= len(text) or not (text[at - 1].isalnum() or text[at - 1] in "._%+'-"):
        return None
    local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
    if local is None:
        return None
    domain = _EMAIL_DOMAIN.match(text, at + 1)
    if domain is None:
        return None
    return local.start(), domain.end()


def _email(text: str, start: int, end: int) -> Hit:
    return single(start, end, EMAIL)


def _url_credentials(text: str, start: int, end: int) -> Hit:
    # Resume after the '@': it belongs to the URL, not to an email.
    return Hit(end + 1, ((start + 3, end, URL_CREDENTIALS),))


def _plan(region: str) -> tuple[int, str, frozenset[int]]:
    """(country code, trunk prefix or "", national significant lengths) of a region's numbering plan."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        raise ValueError(f"no numbering plan for {region}")
    desc = metadata.general_desc
    lengths = frozenset(desc.possible_length or ()) if desc is not None else frozenset()
    return metadata.country_code, metadata.national_prefix or "", lengths or frozenset(range(4, 18))


def _longest(text: str, start: int, end: int, is_phone: Callable[[str], bool]) -> Hit | None:
    """The longest prefix of the candidate (cut at separators) that ``is_phone`` accepts."""
    for stop in cut_points(text, start, end, _SEPARATORS):
        if is_phone(text[start:stop]):
            return single(start, stop, PHONE)
    return None


class PhoneChecker:
    """Confirms phone candidates with ``phonenumbers`` for one default region."""

    def __init__(self, default_region: str, regions: tuple[str, ...] = ()) -> None:
        self.region = default_region
        self.nanp = phonenumbers.country_code_for_region(default_region) == 1
        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone regions: {unknown}")
        self.regions = tuple(r for r in dict.fromkeys(regions) if r != default_region)
        # Per region: country code, trunk prefix and national significant lengths, to build the number
        # directly (much cheaper than phonenumbers.parse) and skip regions whose lengths cannot fit.
        self._plans = tuple(_plan(r) for r in self.regions)

    def is_national_elsewhere(self, candidate: str) -> bool:
        """A national-format number valid in one of the other regions."""
        digits = digits_of(candidate)
        if len(digits) < 9 or len(digits) > 13:
            return False  # 8 digits with a leading 0 are reference numbers more often than phones
        for country_code, trunk, lengths in self._plans:
            national = digits[len(trunk) :] if trunk and digits.startswith(trunk) else digits
            if len(national) not in lengths:
                continue
            number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
            zeros = len(national) - len(national.lstrip("0"))
            if zeros:  # Italian numbers keep their leading 0
                number.italian_leading_zero = True
                number.number_of_leading_zeros = zeros if zeros > 1 else None
            if phonenumbers.is_valid_number(number):
                return True
        return False

    def is_phone(self, candidate: str) -> bool:
        count = len(digits_of(candidate))
        if count < 7 or count > 21:
            return False
        number = candidate
        if number.startswith("00"):
            number = "+" + number[2:]
        try:
            parsed = phonenumbers.parse(number, self.region)
        except phonenumbers.NumberParseException:
            return False
        if candidate.isdigit():
            # No formatting at all: only a number phonenumbers knows as assigned, or the NANP shape.
            return phonenumbers.is_valid_number(parsed) or (self.nanp and _NANP_BARE.fullmatch(candidate) is not None)
        # Not IS_POSSIBLE_LOCAL_ONLY: a 7-digit prefix of a longer candidate would pass as a local number.
        return phonenumbers.is_possible_number_with_reason(parsed) == phonenumbers.ValidationResult.IS_POSSIBLE

    def check(self, text: str, start: int, end: int) -> Hit | None:
        return _longest(text, start, end, self.is_phone)

    def check_nanp(self, text: str, start: int, end: int) -> Hit | None:
        candidate = text[start:end]
        if self.nanp and not candidate.isdigit():
            # The pattern's 3-3-4 shape (optional leading 1, extension) is all that is_possible_number checks for
            # a NANP region (10 national digits): no need to parse.
            return single(start, end, PHONE)
        return self.check(text, start, end)

    def check_national(self, text: str, start: int, end: int) -> Hit | None:
        if _DATE.fullmatch(text, start, end):
            return None
        hit = self.check(text, start, end)
        if hit is not None or not self.regions:
            return hit
        return _longest(text, start, end, self.is_national_elsewhere)

    def check_grouped(self, text: str, start: int, end: int) -> Hit | None:
        candidate = text[start:end]
        if _DATE.fullmatch(candidate) or not 9 <= len(digits_of(candidate)) <= 10:
            return None
        try:
            parsed = phonenumbers.parse(candidate, self.region)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_valid_number(parsed):
            return single(start, end, PHONE)
        return single(start, end, PHONE) if self.is_national_elsewhere(candidate) else None


def contact_detectors(entities: frozenset[str]) -> list[Detector]:
    found: list[Detector] = []
    if URL_CREDENTIALS in entities:
        found.append(Detector("url_credentials", URL_CREDENTIALS, "url", URL_CREDENTIALS_PATTERN, _url_credentials))
    if EMAIL in entities:
        found.append(Detector("email", EMAIL, "at", EMAIL_PATTERN, _email, locate_email))
    return found


def phone_detectors(
    entities: frozenset[str], default_region: str, regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
) -> list[Detector]:
    if PHONE not in entities:
        return []
    checker = PhoneChecker(default_region, regions)
    return [
        Detector("phone_intl", PHONE, "digit", PHONE_INTL_PATTERN, checker.check),
        Detector("phone_nanp", PHONE, "digit", PHONE_NANP_PATTERN, checker.check_nanp),
        Detector("phone_national", PHONE, "digit", PHONE_NATIONAL_PATTERN, checker.check_national),
        Detector("phone_grouped", PHONE, "digit", PHONE_GROUPED_PATTERN, checker.check_grouped),
    ]
