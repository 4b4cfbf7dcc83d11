"""Find raw input values in output bytes: many needles, one pass (Aho-Corasick)."""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick


class LeakScanner:
    """Counts occurrences of known raw identifier strings inside arbitrary byte payloads."""

    def __init__(self, identifiers: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for ident in set(identifiers):
            # latin-1 maps bytes 1:1 to str, so UTF-8 needles match inside raw payload bytes.
            needle = ident.encode("utf-8").decode("latin-1")
            self._automaton.add_word(needle, ident)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()
        self.found: dict[str, int] = {}

    def scan(self, payload: bytes | None, where: str) -> int:
        if payload is None or self._empty:
            return 0
        hits = 0
        for _end, ident in self._automaton.iter(payload.decode("latin-1")):
            hits += 1
            self.found[where] = self.found.get(where, 0) + 1
            del ident  # the identifier itself is never printed
        return hits

    @property
    def total(self) -> int:
        return sum(self.found.values())
