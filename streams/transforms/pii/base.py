"""The pieces every PII detector is made of.

A detector is a regex that describes its *candidates* plus a check that confirms (or rejects) a candidate
with a real validator (Luhn, mod-97, ``ipaddress``, ``phonenumbers``, a national-id checksum, a name lexicon).
Each detector names the *trigger* its candidates start with (see :data:`TRIGGERS`); the scanner
(:mod:`streams.transforms.pii.scanner`) finds trigger positions with one compiled alternation and matches
the detectors of that trigger, anchored there, in priority order.

Patterns must not contain named groups and should start with a negative lookbehind so that a candidate never
starts in the middle of a word or a number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: (start, end, entity type) of one finding, offsets into the scanned text.
Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class Hit:
    """A confirmed candidate: the findings in it and where scanning goes on (at least one past its start)."""

    resume: int
    spans: tuple[Span, ...]


#: check(text, start, end) for a regex candidate ``text[start:end]``: a Hit, or None to reject it.
Check = Callable[[str, int, int], Hit | None]
#: locate(text, trigger_position): the candidate (start, end) around a trigger, for detectors whose candidates
#: do not start at their trigger (an email is found from its '@'); None: no candidate.
Locate = Callable[[str, int], tuple[int, int] | None]
#: sweep(text): every finding of a detector that scans the whole text itself, once, after the trigger pass
#: (phrases led by a lower-case word: "born on ...", "jane at example dot com", names in lower case).
Sweep = Callable[[str], list[Span]]
#: The pseudo-trigger of detectors that sweep the whole text instead of matching at trigger positions.
SWEEP = "sweep"


def _letter_class(predicate: Callable[[str], bool]) -> str:
    """Regex class contents for the letters of the Latin, Greek and Cyrillic blocks that satisfy
    ``predicate`` (``re`` has no ``\\p{Lu}``), as compact ranges."""
    blocks = ((0x41, 0x24F), (0x370, 0x52F), (0x1E00, 0x1EFF))
    chars = [chr(c) for low, high in blocks for c in range(low, high + 1) if chr(c).isalpha() and predicate(chr(c))]
    ranges: list[str] = []
    i = 0
    while i < len(chars):
        j = i
        while j + 1 < len(chars) and ord(chars[j + 1]) == ord(chars[j]) + 1:
            j += 1
        ranges.append(chars[i] if i == j else f"{chars[i]}-{chars[j]}")
        i = j + 1
    return "".join(ranges)


_UP = _letter_class(str.isupper)
_LO = _letter_class(str.islower)
#: Upper- and lower-case letters (Latin, Greek, Cyrillic) as regex class contents: names are written with them.
UPPER_LETTERS = _UP
LOWER_LETTERS = _LO

#: The characters a trigger can fire on. The combined pattern starts with this one class, which lets the
#: regex engine skip every other position (lower-case letters, spaces, punctuation) without trying branches.
TRIGGER_CHARS = f":@+(0-9{_UP}"
#: Where candidates can start: each branch follows the trigger character (which its lookbehinds name) and
#: only fires at word and number starts, on '@' and on colons that can be part of an IPv6 address.
TRIGGERS: dict[str, str] = {
    # URL userinfo follows "://"
    "url": r"(?<=:)//",
    # IPv6: a colon followed by a hex digit or a colon; the address is located back from it
    "colon": r"(?<=:)(?=[0-9A-Fa-f:])",
    # emails are located from their '@'
    "at": r"(?<=@)",
    # numbers: a digit, '+' or '(' that does not continue a word or a number
    "digit": r"(?<=[+(0-9])(?<![\w.\-+/@][+(0-9])",
    # upper-case led identifiers (IBAN, codice fiscale, NINO, NIE): a capital, then a capital, digit or dash
    "upper": r"(?<=[A-Z])(?<![\w\-][A-Z])(?=[A-Z0-9\-])",
    # a capitalized word (names)
    "capital": rf"(?<=[{_UP}])(?<![\w'\u2019\-.][{_UP}])(?=[{_LO}])",
}


@dataclass(frozen=True, slots=True)
class Detector:
    #: Unique name (``[a-z_]+``), for errors and tests.
    name: str
    #: The entity type it reports (what the placeholder shows).
    entity: str
    #: Key of :data:`TRIGGERS` its candidates start with.
    trigger: str
    #: The candidate, matched at the trigger position (lookbehinds see the text before it).
    pattern: str
    check: Check
    locate: Locate | None = None
    #: Also tried at numbers of fewer than seven digits (dates, house numbers, dotted quads).
    short: bool = False
    #: For ``trigger == SWEEP``: the function that finds this detector's spans in the whole text.
    sweep: Sweep | None = None
    #: A swept span that overlaps earlier findings absorbs them (an obfuscated email over a name in it);
    #: otherwise a swept span that overlaps an earlier finding is dropped.
    absorbs: bool = False


def single(start: int, end: int, entity: str) -> Hit:
    return Hit(end, ((start, end, entity),))


def cut_points(text: str, start: int, end: int, separators: str) -> Iterator[int]:
    """End offsets to try for a candidate, longest first: its end, then the end of each shorter prefix that
    stops before a separator. A greedy pattern can run on into a following, unrelated number ("card 4111 ...
    1111 12 times"); the validator then finds the real entity in a prefix."""
    yield end
    i = end - 1
    while i > start:
        if text[i] in separators:
            j = i
            while j > start and text[j - 1] in separators:
                j -= 1
            if j > start:
                yield j
            i = j - 1
        else:
            i -= 1


def digits_of(candidate: str) -> str:
    return "".join(ch for ch in candidate if "0" <= ch <= "9")
