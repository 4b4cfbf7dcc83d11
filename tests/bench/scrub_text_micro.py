"""Cost of scrub_text per note, run by hand: ``.venv/bin/python -m tests.bench.scrub_text_micro [notes]``.

Builds the seeded corpus of tests/unit/transforms/pii_corpus.py and reports the mean time per note (best of
five runs, one transform instance, the whole corpus as one batch), by how much personal data a note holds,
and for notes of about 150 characters; then the same for the independent corpus of
tests/unit/transforms/independent_corpus.py (per entity, and its notes without personal data), with the
recall per entity and the share of clean notes with a finding.
"""

from __future__ import annotations

import sys
import time

from streams.transforms.base import BatchContext
from streams.transforms.scrub_text import ScrubText
from tests.unit.transforms.independent_corpus import build_clean_notes, build_independent_corpus
from tests.unit.transforms.pii_corpus import build_corpus, recall_by_entity


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
    for entity in ("PHONE", "EMAIL", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "NATIONAL_ID", "PERSON", "ADDRESS", "DATE"):
        subset = [note.text for note in notes if any(s.entity == entity for s in note.seeded)]
        print(f"notes with {entity:12s} {len(subset):4d} notes           {mean_us(transform, subset):6.1f} us/note")
    clean = [" ".join(t.split()[:3]) + " the renewal was approved by finance, next step is legal." for t in texts]
    print(f"no personal data     {len(clean):5d} notes              {mean_us(transform, clean):6.1f} us/note")
    independent(transform, max(1, size // 5))


def independent(transform: ScrubText, per_entity: int) -> None:
    notes = build_independent_corpus(per_entity)
    texts = [note.text for note in notes]
    chars = sum(map(len, texts)) / len(texts)
    print(f"independent corpus   {len(texts):5d} notes  {chars:5.0f} chars  {mean_us(transform, texts):6.1f} us/note")
    recall = recall_by_entity(notes, transform.find)
    for entity, (found, total) in sorted(recall.items()):
        subset = [note.text for note in notes if any(s.entity == entity for s in note.seeded)]
        print(
            f"  {entity:8s} recall {found:4d}/{total:<4d} {found / total:.4f}"
            f"  {mean_us(transform, subset):6.1f} us/note"
        )
    clean = build_clean_notes(per_entity * 5)
    clean = clean + [c.lower() for c in clean] + [c.upper() for c in clean]
    flagged = sum(1 for c in clean if transform.find(c))
    chars = sum(map(len, clean)) / len(clean)
    print(
        f"independent clean    {len(clean):5d} notes  {chars:5.0f} chars  {mean_us(transform, clean):6.1f} us/note"
        f"  with a finding: {flagged}/{len(clean)}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
