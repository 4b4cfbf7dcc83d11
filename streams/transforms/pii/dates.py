"""DATE detector: calendar dates, and dates of birth however partial.

Entity ``DATE`` (not ``DATE_OF_BIRTH``): from its format a date of birth cannot be told from any other date,
and every date more precise than a year is a quasi-identifier (a birthday, the day of a visit or an
accident links a note to a person; HIPAA's Safe Harbor rule removes all of them for that reason). So:

* every full date is redacted: numeric ``1984-03-12``, ``12/03/1984``, ``12.03.84``, ``3-12-1984`` (checked:
  a real day and month in either order, a two- or four-digit year), the date part of an ISO timestamp, and
  dates with a month name in English, German, French, Spanish, Italian, Dutch or Portuguese, written either
  way round (``12 March 1984``, ``12th of March, 1984``, ``March 12, 1984``, ``12. März 1984``, ``12 janvier
  1984``), with or without the year when the day is there (``on 12 March``);
* after a date-of-birth cue (``born``, ``DOB``, ``date of birth``, ``birthday``, ``geb.``, ``geboren``,
  ``née le``, ``nacido el``, ``nata il``, ...), what follows is redacted even when it is only a month and a
  year or a year (``born in 1984``, ``DOB: March 1984``).

Not found: a month or a year alone without a cue (``in May``, ``Q3 2024``), relative dates (``last
Tuesday``), ages (``aged 42``), dates with the year first and a month name, and two-part numeric dates
(``12/03``: card expiry dates look the same).
"""

from __future__ import annotations

import re

from streams.transforms.pii.base import SWEEP, Detector, Hit, Span, single

DATE = "DATE"

_MONTHS = {
    # en
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
    # de
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "dezember": 12, "okt": 10, "dez": 12,
    # fr
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
    # es
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    # it
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9,
    "ottobre": 10, "dicembre": 12,
    # nl
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
    # pt
    "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6, "julho": 7, "setembro": 9,
    "outubro": 10, "dezembro": 12,
}  # fmt: skip
_MONTH = "(?:" + "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True)) + r")\.?"
_START = r"(?<![\w.\-+/:])"
_YEAR = r"(?:1[89]\d\d|20\d\d|'\d\d)"
_ORDINAL = r"(?:st|nd|rd|th|er|e|º|°)?"

# An ISO date may go on into a time ("2024-01-15T10:30:00Z"): only the date is the finding.
NUMERIC_PATTERN = (
    _START + r"(?:\d{4}-\d{1,2}-\d{1,2}(?=T\d)|(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}([./\-])\d{1,2}\1(?:\d{4}|\d{2}))"
    r"(?![\w]|[./\-]\d))"
)
DAY_MONTH_PATTERN = (
    _START + rf"\d{{1,2}}{_ORDINAL}\.?[ ](?:of[ ]|de[ ]|di[ ])?(?i:{_MONTH})(?:,?[ ](?:de[ ]|del[ ])?{_YEAR})?(?!\w)"
)
MONTH_DAY_PATTERN = rf"(?<![\w])(?i:{_MONTH})[ ]\d{{1,2}}{_ORDINAL}(?:,?[ ]{_YEAR})?(?![\w:]|[.,]\d)"

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})[./\-](\d{1,2})[./\-](\d{2}|\d{4})")
_NUMBER = re.compile(r"\d+")


def is_numeric_date(candidate: str) -> bool:
    iso = _ISO.fullmatch(candidate)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
        return 1850 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31
    dmy = _DMY.fullmatch(candidate)
    if dmy is None:
        return False
    first, second = int(dmy.group(1)), int(dmy.group(2))
    day_first = 1 <= first <= 31 and 1 <= second <= 12
    month_first = 1 <= first <= 12 and 1 <= second <= 31
    return day_first or month_first


_MONTH_DAY = re.compile(MONTH_DAY_PATTERN)


_MONTH_STARTS = frozenset(m[:3] for m in _MONTHS)


def locate_month_day(text: str, position: int) -> tuple[int, int] | None:
    """A month-first date at a capitalized word: only a word that starts like a month name is matched
    further (most capitalized words are not months, and the month alternation is long)."""
    if text[position : position + 3].lower() not in _MONTH_STARTS:
        return None
    match = _MONTH_DAY.match(text, position)
    return (position, match.end()) if match else None


def _numeric(text: str, start: int, end: int) -> Hit | None:
    return single(start, end, DATE) if is_numeric_date(text[start:end]) else None


def _with_month(text: str, start: int, end: int) -> Hit | None:
    day = _NUMBER.search(text, start, end)
    if day is None or not 1 <= int(day.group()) <= 31:
        return None
    return single(start, end, DATE)


# After a cue: a full date, a month and a year, a month alone, or a year, maybe after "on" / "in" / ":".
_CUE = (
    r"\b(?:born|b\.|dob|d\.o\.b\.?|date[ ]of[ ]birth|birth[ ]?date|birthday|bday|geboren|geb\.|"
    r"geburtsdatum|n[ée]e?[ ]le|date[ ]de[ ]naissance|nacid[oa]|fecha[ ]de[ ]nacimiento|nat[oa]|"
    r"data[ ]di[ ]nascita|geboortedatum|nascid[oa])"
)
_AFTER_CUE = (
    r"[ ]*[:\-]?[ ]*(?:(?:on|in|am|el|il|le|em|op|the)[ ]+)?"
    rf"(?P<value>\d{{1,2}}[./\-]\d{{1,2}}[./\-]\d{{2,4}}|\d{{4}}-\d{{1,2}}-\d{{1,2}}|"
    rf"(?:\d{{1,2}}{_ORDINAL}\.?[ ](?:of[ ]|de[ ]|di[ ])?)?{_MONTH}"
    rf"(?:[ ]\d{{1,2}}{_ORDINAL})?(?:,?[ ](?:de[ ])?{_YEAR})?|"
    rf"{_YEAR})(?![\w]|[./\-]\d)"
)
_DOB = re.compile(_CUE + _AFTER_CUE, re.IGNORECASE)
_CUE_HINTS = (
    "born", "b.", "dob", "d.o.b", "birth", "bday", "geb", "naissance", "nacid", "nacimiento", "nat", "nascid", "né",
)  # fmt: skip


def sweep_birth_dates(text: str) -> list[Span]:
    lowered = text.lower()
    if not any(hint in lowered for hint in _CUE_HINTS):
        return []
    return [(m.start("value"), m.end("value"), DATE) for m in _DOB.finditer(text)]


def date_detectors(entities: frozenset[str]) -> list[Detector]:
    if DATE not in entities:
        return []
    return [
        Detector("date_numeric", DATE, "digit", NUMERIC_PATTERN, _numeric, short=True),
        Detector("date_day_month", DATE, "digit", DAY_MONTH_PATTERN, _with_month, short=True),
        Detector("date_month_day", DATE, "capital", MONTH_DAY_PATTERN, _with_month, locate_month_day),
        Detector("date_of_birth", DATE, SWEEP, "", _no_check, sweep=sweep_birth_dates, absorbs=True),
    ]


def _no_check(text: str, start: int, end: int) -> Hit | None:
    return None
