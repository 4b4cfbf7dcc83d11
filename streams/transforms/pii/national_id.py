"""NATIONAL_ID detectors: identity and tax numbers that have a published format and check.

==========  =====================================  ====================================================
kind        number                                 confirmed by
==========  =====================================  ====================================================
us_ssn      US Social Security number, written     python-stdnum ``us.ssn`` (area not 000/666/9xx, group
            ``123-45-6789`` or ``123 45 6789``     not 00, serial not 0000, known fake numbers refused)
uk_nino     UK National Insurance number           prefix letters and suffix A-D as HMRC assigns them
            ``AB 12 34 56 C`` / ``AB123456C``      (no D F I Q U V, second letter not O, no BG GB KN NK
                                                   NT TN ZZ); uppercase only
de_idnr     German tax id (Steuer-IdNr), 11        python-stdnum ``de.idnr`` (digit repetition rule,
            digits, bare or ``12 345 678 901``     ISO 7064 mod 11,10)
fr_nir      French NIR (social security number),   python-stdnum ``fr.nir`` (mod-97 key; Corsica 2A/2B)
            15 characters, spaced or not
es_dni      Spanish DNI ``12345678Z``              python-stdnum ``es.dni`` (check letter)
es_nie      Spanish NIE ``X1234567L``              python-stdnum ``es.nie`` (check letter)
it_cf       Italian codice fiscale (16 chars)      python-stdnum ``it.codicefiscale`` (check char, date)
nl_bsn      Dutch BSN, 9 digits (opt-in)           python-stdnum ``nl.bsn`` (11-proef)
==========  =====================================  ====================================================

``nl_bsn`` is off by default: one bare 9-digit number in 11 passes its check, so order and invoice numbers
would be redacted. A bare 9-digit SSN is not detected either (only the dashed/spaced form), for the same
reason. Bare 11-digit numbers pass the ``de_idnr`` rules about once in 250.
"""

from __future__ import annotations

from collections.abc import Callable

from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import ssn

from streams.transforms.pii.base import Detector, Hit, single

NATIONAL_ID = "NATIONAL_ID"

NATIONAL_ID_KINDS = ("us_ssn", "uk_nino", "de_idnr", "fr_nir", "es_dni", "es_nie", "it_cf", "nl_bsn")
DEFAULT_NATIONAL_IDS = ("us_ssn", "uk_nino", "de_idnr", "fr_nir", "es_dni", "es_nie", "it_cf")

_NUM_START = r"(?<![\w.\-+/])"
_OMOCODE = "[0-9LMNPQRSTUV]"

_PATTERNS: dict[str, str] = {
    "it_cf": rf"(?<![\w\-])[A-Z]{{6}}{_OMOCODE}{{2}}[A-EHLMPR-T]{_OMOCODE}{{2}}[A-Z]{_OMOCODE}{{3}}[A-Z](?!\w)",
    "uk_nino": r"(?<![\w\-])[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)",
    "es_nie": r"(?<![\w\-])[XYZ]-?\d{7}-?[A-Z](?!\w)",
    "es_dni": _NUM_START + r"\d{8}-?[A-Z](?!\w)",
    "us_ssn": _NUM_START + r"(?:\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4})(?![\w]|[.\-]\d| \d)",
    "fr_nir": _NUM_START + r"[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w]|[.\-]\d| \d)",
    "de_idnr": _NUM_START + r"[1-9]\d ?\d{3} ?\d{3} ?\d{3}(?![\w]|[.\-]\d| \d)",
    "nl_bsn": _NUM_START + r"\d{4}\.?\d{2}\.?\d{3}(?![\w]|[.\-]\d| \d)",
}

_NINO_REFUSED_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def is_uk_nino(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    return len(compact) == 9 and compact[:2] not in _NINO_REFUSED_PREFIXES


def _cleaned(validator: Callable[[str], bool], separators: str = " -.") -> Callable[[str], bool]:
    def check(candidate: str) -> bool:
        return validator("".join(ch for ch in candidate if ch not in separators))

    return check


_VALIDATORS: dict[str, Callable[[str], bool]] = {
    "it_cf": codicefiscale.is_valid,
    "uk_nino": is_uk_nino,
    "es_nie": _cleaned(nie.is_valid),
    "es_dni": _cleaned(dni.is_valid),
    "us_ssn": _cleaned(ssn.is_valid),
    "fr_nir": _cleaned(nir.is_valid),
    "de_idnr": _cleaned(idnr.is_valid),
    "nl_bsn": _cleaned(bsn.is_valid),
}

# Letter-led kinds first, then the digit-only kinds (tried after cards and before phones).
_ORDER = ("it_cf", "uk_nino", "es_nie", "es_dni", "us_ssn", "fr_nir", "de_idnr", "nl_bsn")


_TRIGGERS = {"it_cf": "upper", "uk_nino": "upper", "es_nie": "upper"}


def _detector(kind: str) -> Detector:
    valid = _VALIDATORS[kind]

    def check(text: str, start: int, end: int) -> Hit | None:
        return single(start, end, NATIONAL_ID) if valid(text[start:end]) else None

    return Detector(kind, NATIONAL_ID, _TRIGGERS.get(kind, "digit"), _PATTERNS[kind], check)


def national_id_detectors(entities: frozenset[str], kinds: frozenset[str]) -> list[Detector]:
    if NATIONAL_ID not in entities:
        return []
    unknown = kinds - set(NATIONAL_ID_KINDS)
    if unknown:
        raise ValueError(f"unknown national id kinds: {sorted(unknown)}")
    return [_detector(kind) for kind in _ORDER if kind in kinds]
