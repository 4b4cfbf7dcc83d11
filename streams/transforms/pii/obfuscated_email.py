"""EMAIL detector for addresses written to dodge filters: ``jane.doe at gmail dot com``, ``jane [at] example
[dot] org``, ``jane(at)example(dot)co(dot)uk``, ``jane @ example.com``.

Found from the separator: ``at`` between spaces or in brackets, or an ``@`` with a space on either side; then
a local part right before it (``[\\w.%+'-]``, at most 64) and a domain after it whose labels are joined by
``.``, `` dot `` or a bracketed ``dot``, ending in a top-level domain of :data:`TLDS`. Case does not matter.
The whole address, separators included, is redacted as ``EMAIL``. With a plain `` at `` this also takes
``sales at example.com`` (a company address, redacted all the same).

Not found: spelled-out symbols in other languages (``chez``, ``arroba``, ``punto``), a top-level domain
outside the list, local parts with spaces (``jane doe at ...``: only ``doe at ...`` is redacted).
"""

from __future__ import annotations

import re

from streams.transforms.pii.base import SWEEP, Detector, Hit, Span

from .contact import EMAIL

TLDS = (
    "com net org edu gov mil int info biz name pro mobi app dev io co ai me tv cc us uk eu de fr es it nl "
    "be at ch ie pt pl se no dk fi cz sk hu ro gr bg hr si lt lv ee lu ca au nz in jp cn kr br mx ar cl za "
    "ru ua tr il ae sg hk tw"
).split()

# Each branch starts with a definite character, so that the search skips text quickly.
_SEPARATOR = re.compile(
    r"[\[({<][ \t]*(?:at|@)[ \t]*[\])}>][ \t]*|[ \t](?:at|@)[ \t]+|@[ \t]+|[ \t]@(?=\w)", re.IGNORECASE
)
_DOT = r"(?:[ \t]*[\[({<][ \t]*(?:dot|\.)[ \t]*[\])}>][ \t]*|[ \t]+dot[ \t]+|\.)"
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(
    rf"{_LABEL}(?:{_DOT}{_LABEL}){{0,5}}{_DOT}(?:{'|'.join(sorted(TLDS, key=len, reverse=True))})(?![\w\-]|\.\w)",
    re.IGNORECASE,
)
_LOCAL = re.compile(r"(?<![\w.%+'\-])[\w.%+'\-]{1,64}\Z")


# Any of these in the lower-cased text sends it through the full separator search; otherwise only the
# plain " at " separators are looked at (found with str.find, which is much cheaper than a regex scan).
_HINTS = ("dot", "[at]", "(at)", "{at}", "<at>", "[@]", "(@)", " @", "@ ", "[ at ]", "( at )")


def sweep_obfuscated_emails(text: str) -> list[Span]:
    lowered = text.lower()
    spans: list[Span] = []
    if any(hint in lowered for hint in _HINTS):
        for separator in _SEPARATOR.finditer(text):
            _add(text, separator.start(), separator.end(), spans)
        return spans
    index = lowered.find(" at ")
    while index >= 0:
        _add(text, index, index + 4, spans)
        index = lowered.find(" at ", index + 3)
    return spans


def _add(text: str, start: int, end: int, spans: list[Span]) -> None:
    """The address around a separator at ``text[start:end]``, appended to ``spans`` if there is one."""
    stop = start
    while stop > 0 and text[stop - 1] in " \t":
        stop -= 1
    local = _LOCAL.search(text, max(0, stop - 64), stop)
    if local is None or not any(ch.isalnum() for ch in local.group()):
        return
    domain = _DOMAIN.match(text, end)
    if domain is None or (spans and spans[-1][1] > local.start()):
        return
    spans.append((local.start(), domain.end(), EMAIL))


def _no_check(text: str, start: int, end: int) -> Hit | None:
    return None


def obfuscated_email_detectors(entities: frozenset[str]) -> list[Detector]:
    if EMAIL not in entities:
        return []
    return [Detector("email_obfuscated", EMAIL, SWEEP, "", _no_check, sweep=sweep_obfuscated_emails, absorbs=True)]
