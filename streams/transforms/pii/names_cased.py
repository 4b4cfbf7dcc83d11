"""PERSON detector for names written in lower case or in capitals: ``spoke with maria garcia``, ``CALL JOHN
SMITH``, ``dear anna``.

Without capitals a name cannot be told from a word by its shape, so this detector is stricter than the
capitalized one (:mod:`~streams.transforms.pii.names`): it sweeps the all-lower-case and all-capital words
of the text and looks each up, in title case, in the same lexicons (Faker's lists and the broad
names-dataset lexicon). A run of such words is redacted when

* two or more consecutive words are names and at least one is not a frequent word (``hannu virtanen``),
  or two are in Faker's lists (``john smith``; not ``will mark``: Faker's ambiguous names are words here), or
* one name that is not a common word follows a cue: a strong cue or an honorific (``dear``, ``hi``, ``met``,
  ``called``, ``mr``, ...) or ``with``, ``ask``, ``for``, ``cc``, ``attn``, ``told`` (``spoke with maria``).

Capitals: words of three letters or fewer are names only when Faker's lists have them (``LEE``, ``ANA``), so
acronyms (``EUR``, ``SKU``, ``CEO``) stay. A swept name that overlaps an earlier finding (an email, an
address) is dropped.

Not found: a single lower-case name without a cue, names that are common words (``rose``, ``grant``) even in
pairs with each other, and surnames outside both lexicons.
"""

from __future__ import annotations

import re

from streams.transforms.pii.base import LOWER_LETTERS, SWEEP, UPPER_LETTERS, Detector, Hit, Span
from streams.transforms.pii.names import (
    AMBIGUOUS_NAME,
    CUES,
    FREQUENT_NAME,
    NAME,
    OTHER,
    PERSON,
    STRONG_CUES,
    WEAK_NAME,
    NameFinder,
    memoized,
)

#: Cues before a single lower-case name; "from", "by", "via", "per" are not ("from paris", "via teams").
LOWER_CUES = (CUES - {"from", "by", "via", "per"}) | frozenset({"for"})

_LO, _UP = LOWER_LETTERS, UPPER_LETTERS
_WORD = re.compile(
    rf"(?<![\w'\u2019\-.@/])(?:[{_LO}][{_LO}'\u2019\-]*[{_LO}]|[{_UP}][{_UP}'\u2019\-]*[{_UP}])(?![\w@]|[.'\u2019\-]\w)"
)


class CasedNameFinder:
    def __init__(self, finder: NameFinder) -> None:
        self.finder = finder
        self._kinds: dict[str, int] = {}

    def kind(self, word: str) -> int:
        return memoized(self._kinds, word, self._classify)

    def _classify(self, word: str) -> int:
        """NAME (a name that is not a frequent word), AMBIGUOUS_NAME (a name in Faker's lists that is also a
        frequent word: "john"), FREQUENT_NAME (only the broad lexicon has it, and it is a frequent word:
        "delivery", "zhou"), or OTHER (Faker's ambiguous names are plain words here: "will", "the")."""
        kind = self.finder.kind(word.title())
        frequent = word.lower() in self.finder.frequent
        if word.isupper() and len(word) <= 3:
            return NAME if kind == NAME and not frequent else OTHER
        if kind == NAME:
            return AMBIGUOUS_NAME if frequent else NAME
        if kind == WEAK_NAME:
            return NAME
        return FREQUENT_NAME if kind == FREQUENT_NAME else OTHER

    def sweep(self, text: str) -> list[Span]:
        spans: list[Span] = []
        run: list[tuple[int, int, int]] = []
        kind = self.kind
        for match in _WORD.finditer(text):
            word_kind = kind(match.group())
            if word_kind == OTHER:
                if run:
                    spans.extend(self._names_in(text, run))
                    run = []
                continue
            start = match.start()
            if run and (start != run[-1][1] + 1 or text[run[-1][1]] != " "):
                spans.extend(self._names_in(text, run))
                run = []
            run.append((start, match.end(), word_kind))
        if run:
            spans.extend(self._names_in(text, run))
        return spans

    def _names_in(self, text: str, run: list[tuple[int, int, int]]) -> list[Span]:
        found: list[Span] = []
        if all(k == FREQUENT_NAME for _, _, k in run):
            return found  # words that only the broad lexicon calls names, and frequent words: never alone
        i = 0
        while i < len(run):
            j = min(len(run), i + 4)
            kinds = [k for _, _, k in run[i:j]]
            strong = NAME in kinds
            # "john smith": two names of Faker's lists (frequent words both) side by side.
            paired = sum(k in (NAME, AMBIGUOUS_NAME) for k in kinds) >= 2
            if (strong and len(kinds) >= 2) or paired or self._cued(text, run, i, kinds, strong):
                found.append((run[i][0], run[j - 1][1], PERSON))
                i = j
            else:
                i += 1
        return found

    def _cued(self, text: str, run: list[tuple[int, int, int]], i: int, kinds: list[int], strong: bool) -> bool:
        """A single name after a cue; "called john": a first name of Faker's lists after a strong cue, even
        though "john" is a frequent word."""
        if not strong and kinds[0] != AMBIGUOUS_NAME:
            return False
        cue = text[run[i - 1][0] : run[i - 1][1]].lower() if i else self.finder.word_before(text, run[i][0])
        return (strong and cue in LOWER_CUES) or (cue in STRONG_CUES and kinds[0] == AMBIGUOUS_NAME)


def _no_check(text: str, start: int, end: int) -> Hit | None:
    return None


def cased_name_detectors(entities: frozenset[str], finder: NameFinder) -> list[Detector]:
    if PERSON not in entities:
        return []
    cased = CasedNameFinder(finder)
    return [Detector("person_cased", PERSON, SWEEP, "", _no_check, sweep=cased.sweep)]
