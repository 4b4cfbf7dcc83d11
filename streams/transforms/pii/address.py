"""ADDRESS detector: street addresses with a house number, and UK postcodes.

Shapes (street words in English, German, French, Spanish, Italian, Dutch and Portuguese):

* number first: ``221B Baker Street``, ``1600 Pennsylvania Ave NW``, ``12 rue de Rivoli``, ``7 Avenida da
  Liberdade``: a house number (``12``, ``12a``, ``12-14``, ``12/3``), one to four words, and a street type
  (:data:`STREET_TYPES`) either last (English) or first (French, Spanish, Portuguese, Italian);
* number last: ``Hauptstraße 5``, ``Berliner Straße 5``, ``Kerkstraat 12``, ``Via Roma 10``, ``Calle
  Mayor 5``, ``Rua Augusta 274``: a street word or a word ending in a street suffix (``-straße``, ``-str.``,
  ``-weg``, ``-gasse``, ``-platz``, ``-straat``, ``-laan``, ``-gracht``, ``-plein``, ``-vej``, ``-gatan``,
  ...), then the number;
* after a street, the rest of the address is taken with it: ``, Apt 4B``, ``, Springfield``, ``, IL 62704``,
  ``, 75001 Paris``, ``, 1012 AB Amsterdam``, ``, London SW1A 1AA``, a bare ZIP (``90210``);
* a UK postcode on its own (``SW1A 1AA``: strict outward/inward shape), and a postal code followed by a
  city after ``in``/``at``/a comma (``75001 Paris``) only as part of a street address.

Not found: addresses without a house number (``Baker Street``), without a street type (``12 Elm``), PO
boxes, a city or a postal code alone (they are quasi-identifiers, not addresses), and street types missing
from the lists (``Grove`` is there, ``Rise`` is not).
"""

from __future__ import annotations

import re

from streams.transforms.pii.base import LOWER_LETTERS, UPPER_LETTERS, Detector, Hit, single

ADDRESS = "ADDRESS"

#: Street types written after the street name (English).
STREET_TYPES = (
    "Street St Avenue Ave Av Road Rd Lane Ln Drive Dr Boulevard Blvd Court Ct Place Pl Square Sq Terrace "
    "Ter Way Close Crescent Cres Parkway Pkwy Highway Hwy Grove Gardens Mews Row Walk Hill Circle Cir Trail "
    "Trl Alley Broadway Embankment Quay Wharf Park Green Path Pike Plaza Loop"
).split()
#: Street types written before the street name (French, Spanish, Portuguese, Italian, Catalan).
STREET_FIRST = (
    "rue avenue av boulevard bd bld chemin allée allee place impasse quai route cours square "
    "calle avenida av\\. plaza paseo carrer camino carretera ronda travesía "
    "rua avenida travessa largo praça estrada alameda "
    "via viale piazza corso vicolo largo strada piazzale lungomare"
).split()
#: Endings of one-word street names (German, Dutch, Danish, Swedish, Norwegian).
STREET_SUFFIXES = (
    "straße strasse str. weg gasse platz allee ring damm ufer chaussee steig pfad markt "
    "straat laan gracht plein kade dijk singel steeg "
    "vej gade gatan vägen gränd torget veien gata"
).split()

_UP, _LO = UPPER_LETTERS, LOWER_LETTERS
_PARTICLES = (
    "de del della dei degli delle dello di da do dos das des du la le les los las van der den von am an auf the of"
)
_NAME_WORD = rf"(?:[{_UP}0-9][{_LO}{_UP}'\u2019\-]*\.?|(?:{'|'.join(_PARTICLES.split())})(?![\w]))"
_NUMBER = r"\d{1,5}[A-Za-z]?(?:[\-/]\d{1,4}[A-Za-z]?)?"
_ST = "|".join(re.escape(s) for s in sorted(STREET_TYPES, key=len, reverse=True))
_ST_FIRST = "|".join(sorted(STREET_FIRST, key=len, reverse=True))
_SUFFIX = "|".join(re.escape(s) for s in sorted(STREET_SUFFIXES, key=len, reverse=True))
_SUFFIXES = tuple(STREET_SUFFIXES)
_DIRECTION = r"(?:[ ](?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\b\.?)?"

# The rest of an address after its street: unit, city, state/region and postal code, each after a comma.
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}"
_CITY = rf"[{_UP}][{_LO}'\u2019\-]+(?:[ -][{_UP}][{_LO}'\u2019\-]+){{0,2}}"
_TAIL_PART = (
    rf"(?:(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Bldg|Building|Room)\.?[ ]?#?[\w\-]{{1,6}}|"
    rf"{_UK_POSTCODE}|\d{{4}}[ ]?[A-Z]{{2}}(?:[ ]{_CITY})?|\d{{4,5}}(?:-\d{{4}})?(?:[ ]{_CITY})?|"
    rf"[A-Z]{{2}}[ ]\d{{5}}(?:-\d{{4}})?|{_CITY}(?:[ ](?:[A-Z]{{2}}[ ])?\d{{5}}(?:-\d{{4}})?|[ ]{_UK_POSTCODE})?)"
)
_TAIL = rf"(?:,?[ ]{_TAIL_PART}(?=[,.;:)!?\s]|$)){{0,4}}"

NUMBER_FIRST_PATTERN = (
    rf"(?<![\w.\-+/:])(?:{_NUMBER}),?[ ](?:"
    rf"(?:{_NAME_WORD}[ ]){{1,4}}(?:{_ST})\b\.?{_DIRECTION}|"
    rf"(?i:{_ST_FIRST})[ ](?:{_NAME_WORD}[ ]?){{1,4}}(?<![ ])"
    rf"){_TAIL}"
)
NUMBER_LAST_PATTERN = (
    rf"(?<![\w'\u2019\-.])(?:"
    rf"[{_UP}][{_LO}{_UP}\-]*(?:{_SUFFIX})|"
    rf"[{_UP}][{_LO}]+[ ](?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Chaussee|Markt)|"
    rf"(?i:{_ST_FIRST})[ ](?:{_NAME_WORD}[ ]){{0,3}}?{_NAME_WORD}"
    rf"),?[ ](?:n[ºo°]\.?[ ]?)?{_NUMBER}(?![\w]|[.,]\d){_TAIL}"
)
UK_POSTCODE_PATTERN = rf"(?<![\w\-]){_UK_POSTCODE}(?!\w)"

_TRAILING = re.compile(r"[ ,]+\Z")
_LETTERS = re.compile(r"[^\W\d_]+")
_STREET_FIRST_SET = frozenset(w.replace("\\", "") for w in STREET_FIRST)
_SUFFIX_WORDS = tuple(s.rstrip(".") for s in STREET_SUFFIXES)
_STREET_WORDS = tuple("Straße Strasse Str. Weg Allee Platz Gasse Ring Damm Ufer Chaussee Markt".split())
_NUMBER_LAST = re.compile(NUMBER_LAST_PATTERN)


def locate_number_last(text: str, position: int) -> tuple[int, int] | None:
    """A street-first address at a capitalized word. The full pattern is matched only when the word is a
    street word ("Via ", "Calle "), ends in a street suffix ("...straße", "...laan") or is followed by a German
    street word ("Berliner Straße"): set look-ups and ``endswith``, far cheaper than the full pattern."""
    word = _LETTERS.match(text, position)
    if word is None:
        return None
    end = word.end()
    found = word.group()
    if (
        found.lower() not in _STREET_FIRST_SET
        and not found.endswith(_SUFFIX_WORDS)
        and not (text.startswith(" ", end) and text.startswith(_STREET_WORDS, end + 1))
    ):
        return None
    match = _NUMBER_LAST.match(text, position)
    return (position, match.end()) if match else None


def _trimmed(text: str, start: int, end: int) -> Hit:
    trail = _TRAILING.search(text, start, end)
    return single(start, trail.start() if trail else end, ADDRESS)


def _number_first(text: str, start: int, end: int) -> Hit | None:
    return _trimmed(text, start, end)


def _number_last(text: str, start: int, end: int) -> Hit | None:
    return _trimmed(text, start, end)


def _uk_postcode(text: str, start: int, end: int) -> Hit | None:
    return single(start, end, ADDRESS)


def address_detectors(entities: frozenset[str]) -> list[Detector]:
    if ADDRESS not in entities:
        return []
    return [
        Detector("address_number_first", ADDRESS, "digit", NUMBER_FIRST_PATTERN, _number_first, short=True),
        Detector("address_number_last", ADDRESS, "capital", NUMBER_LAST_PATTERN, _number_last, locate_number_last),
        Detector("uk_postcode", ADDRESS, "upper", UK_POSTCODE_PATTERN, _uk_postcode),
    ]
