"""Cost of scrub_text per note, run by hand: ``.venv/bin/python -m tests.bench.scrub_text_micro [notes]``.

Builds the seeded corpus of tests/unit/transforms/pii_corpus.py and reports the mean time per note (best of
five runs, one transform instance, the whole corpus as one batch), by how much personal data a note holds,
and for notes of about 150 characters.
"""

from __future__ import annotations

import sys
import time

from streams.transforms.base import BatchContext
from streams.transforms.scrub_text import ScrubText
from tests.unit.transforms.pii_corpus import build_corpus


def mean_us(transform: ScrubText, texts: list[str], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        transform.apply(texts, BatchContext())
        best = min(best, time.perf_counter() - started)
    return best / max(1, len(texts)) * 1e6


def main(size: int) -> None:
    started = time.perf_counter()
    transform = ScrubText()
    print(f"build (lexicon, patterns): {(time.perf_counter() - started) * 1e3:.0f} ms")
    notes = build_corpus(size)
    texts = [note.text for note in notes]
    chars = sum(map(len, texts)) / len(texts)
    cost = mean_us(transform, texts)
    print(f"all notes            {len(texts):5d} notes  {chars:5.0f} chars  {cost:6.1f} us/note")
    typical = [t for t in texts if 120 <= len(t) <= 180]
    chars = sum(map(len, typical)) / len(typical)
    cost = mean_us(transform, typical)
    print(f"120-180 characters   {len(typical):5d} notes  {chars:5.0f} chars  {cost:6.1f} us/note")
    for entity in ("PHONE", "EMAIL", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "NATIONAL_ID", "PERSON"):
        subset = [note.text for note in notes if any(s.entity == entity for s in note.seeded)]
        print(f"notes with {entity:12s} {len(subset):4d} notes           {mean_us(transform, subset):6.1f} us/note")
    clean = [" ".join(t.split()[:3]) + " the renewal was approved by finance, next step is legal." for t in texts]
    print(f"no personal data     {len(clean):5d} notes              {mean_us(transform, clean):6.1f} us/note")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
