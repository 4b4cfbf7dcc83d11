"""Transform-only comparison, no Kafka: ``streams.core.anonymize_batch`` against Presidio, like for like.

``python -m tests.bench.presidio_compare [--pool 10000] [--corpus 2000] [--budget 10]`` runs it alone (no
broker, no registry: the pool goes through fastavro directly); ``tests/bench/run.py`` runs it after the levels.

Both sides get the same decoded Debezium contact events.

- Ours: the bench policy compiled once (fresh keys, empty DP release caches), events in batches of 500; the
  work is the whole event (key, before and after images, source block), ``scrub_text`` detecting in the notes.
- Presidio: per row image, presidio-analyzer on every field the policy scrubs with ``scrub_text``: an
  ``AnalyzerEngine`` whose registry holds only the predefined pattern recognizers of :data:`RECOGNIZERS`
  (those that need no NLP model, for the entity types the rule enables) and Presidio's ``NoOpNlpEngine``, so no
  spaCy model is loaded or needed (no context words then: every match is kept, score threshold 0). Then
  ``BatchAnonymizerEngine.anonymize_dict`` replaces what was found (our placeholders) and applies to every other
  field the policy names the nearest Presidio operator (``nearest``). Structured fields need no detection on
  either side: their whole-value recognizer results are built before the clock starts. Rates are records
  (events) per second; one event is one or two row images.
- Text only (the detection work, like for like): ``ScrubText.apply`` in batches of 500 against Presidio's
  analyze + anonymize per text, on the pool's notes (every row image's) and on the seeded PII corpus of
  ``tests/unit/transforms/pii_corpus.py``, which holds the cards, IBANs, IPs and national ids that the
  generator's notes (a first name, a phone number, an email) do not.
- Recall per entity type of both, on the pool's distinct notes (ground truth: the generator's
  ``note_entities``) and on the PII corpus (offsets recorded): a seeded entity counts as found when one finding
  of the same type covers all of it. Entity types only one side covers are listed as such.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NoOpNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    DateRecognizer,
    DeTaxIdRecognizer,
    EmailRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    IbanRecognizer,
    IpRecognizer,
    ItFiscalCodeRecognizer,
    PhoneRecognizer,
    UkNinoRecognizer,
    UsSsnRecognizer,
)
from presidio_anonymizer import AnonymizerEngine, BatchAnonymizerEngine
from presidio_anonymizer.entities import DictRecognizerResult, OperatorConfig, RecognizerResult
from pydantic import SecretStr
from stdnum.fr import nir

from streams.core import EventIn, anonymize_batch
from streams.devtools.generator.debezium import SeededEntity
from streams.envelope.registry import compile_source_key, compile_source_value
from streams.keys import keyring_from_settings
from streams.policy.loader import LoadedPolicy
from streams.settings import Settings
from streams.transforms.base import BatchContext
from streams.transforms.pii.registry import ENTITY_TYPES
from streams.transforms.rule import BuildContext
from streams.transforms.scrub_text import ScrubText
from tests.bench.common import KEY_SCHEMA_FILE, VALUE_SCHEMA_FILE
from tests.unit.transforms.pii_corpus import Finder, Note, Seeded, build_corpus

T = TypeVar("T")
POLICY_FILE = Path(__file__).resolve().parent / "policy.yaml"
Decoded = Sequence[tuple[dict[str, Any], dict[str, Any] | None]]

BATCH = 500
LANGUAGE = "en"
SALT = secrets.token_bytes(32)  # Presidio's hash with a fixed secret salt: deterministic, like a token
AES_KEY = secrets.token_hex(16)  # 32 hex characters: a 256-bit key as Presidio's encrypt takes it

#: Presidio's predefined recognizers that need no NLP model, for the entity types both sides cover:
#: (recognizer class, Presidio entity, our entity type, our national id kind or None). Built for English
#: text (the country ones default to their own language, which an English analyzer would skip).
RECOGNIZERS: tuple[tuple[type[EntityRecognizer], str, str, str | None], ...] = (
    (EmailRecognizer, "EMAIL_ADDRESS", "EMAIL", None),
    (PhoneRecognizer, "PHONE_NUMBER", "PHONE", None),
    (CreditCardRecognizer, "CREDIT_CARD", "CREDIT_CARD", None),
    (IbanRecognizer, "IBAN_CODE", "IBAN", None),
    (IpRecognizer, "IP_ADDRESS", "IP_ADDRESS", None),
    (UsSsnRecognizer, "US_SSN", "NATIONAL_ID", "us_ssn"),
    (UkNinoRecognizer, "UK_NINO", "NATIONAL_ID", "uk_nino"),
    (DeTaxIdRecognizer, "DE_TAX_ID", "NATIONAL_ID", "de_idnr"),
    (EsNifRecognizer, "ES_NIF", "NATIONAL_ID", "es_dni"),
    (EsNieRecognizer, "ES_NIE", "NATIONAL_ID", "es_nie"),
    (ItFiscalCodeRecognizer, "IT_FISCAL_CODE", "NATIONAL_ID", "it_cf"),
    (DateRecognizer, "DATE_TIME", "DATE", None),
)
TO_OURS = {presidio: ours for _, presidio, ours, _ in RECOGNIZERS}
#: Our entity types without a model-free Presidio recognizer, and why.
OURS_ONLY = {
    "PERSON": "Presidio finds names with an NER model only (spaCy, stanza, transformers)",
    "ADDRESS": "no Presidio recognizer for street addresses",
    "URL_CREDENTIALS": "Presidio's URL recognizer finds whole URLs, not the user:password in them",
}
#: Our national id kinds without a Presidio recognizer (the others: see RECOGNIZERS).
OURS_ONLY_NATIONAL_IDS = ("fr_nir", "nl_bsn")
#: What Presidio's model-free recognizers find that scrub_text has no type for (not run here).
PRESIDIO_ONLY = (
    "URL, CRYPTO (bitcoin addresses), MAC_ADDRESS, UUID; about 70 country-specific ids (US bank, driver "
    "licence, ITIN, passport, medical licence; UK NHS, passport, postcode; AU, CA, DE, ES, FI, IN, IT, KR, NG, "
    "PH, PL, SE, SG, TH, TR, ZA numbers)"
)

#: Presidio's nearest operator for each of our transforms, as used here (see ``nearest``).
ENCRYPT_NOTE = "encrypt (AES-CBC with a random IV; ours is deterministic AES-SIV)"


def nearest(rule: Any, avro_is_string: bool) -> str:
    """What Presidio does instead of ``rule`` on a field, in words."""
    kind = rule.transform
    if kind == "keep":
        return "nothing (no recognizer result: the value passes unchanged)"
    if kind in ("laplace", "gaussian", "randomized_response", "date_shift"):
        return "none: no noise/DP operator (value passes unchanged)"
    if not avro_is_string:
        if kind == "drop":
            return "none: cannot remove a key; a number passes unchanged"
        return "none: Presidio anonymizes text only (number passes unchanged)"
    if kind == "tokenize":
        return "hash (sha256, fixed secret salt: deterministic, but not HMAC)"
    if kind == "mask":
        return "mask"
    if kind == "drop":
        return "redact (key stays with an empty string: Presidio cannot remove a key)"
    if kind == "redact":
        return "replace (same placeholder)"
    if kind == "scrub_text":
        return "analyzer (model-free pattern recognizers) + replace on what it finds"
    if kind == "generalize" and getattr(rule, "prefix_length", None):
        return "redact of the span after the prefix (same output)"
    if kind == "encrypt":
        return ENCRYPT_NOTE
    return "none"


# -- Presidio's side ------------------------------------------------------------------------------------------
def offline_tldextract() -> None:
    """EmailRecognizer validates domains with tldextract, which fetches the public suffix list on first use
    (and logs a traceback where there is no network); use the snapshot it ships instead, as offline."""
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())


def presidio_recognizers(rule: Any) -> list[EntityRecognizer]:
    """The recognizers of :data:`RECOGNIZERS` for the entity types (and national id kinds) ``rule`` enables;
    phone numbers in the rule's regions (its default region first)."""
    recognizers: list[EntityRecognizer] = []
    for cls, _, ours, kind in RECOGNIZERS:
        if ours not in rule.entities or (kind is not None and kind not in rule.national_ids):
            continue
        if cls is PhoneRecognizer:
            regions = tuple(dict.fromkeys((rule.default_region, *rule.phone_regions)))
            recognizers.append(PhoneRecognizer(supported_language=LANGUAGE, supported_regions=regions))
        else:
            recognizers.append(cls(supported_language=LANGUAGE))
    return recognizers


def presidio_analyzer(rule: Any) -> AnalyzerEngine:
    """An AnalyzerEngine with only the model-free recognizers for ``rule`` and no NLP model."""
    offline_tldextract()
    registry = RecognizerRegistry(recognizers=presidio_recognizers(rule), supported_languages=[LANGUAGE])
    nlp = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "none"}])
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANGUAGE])
    engine.analyze("warm-up: a@example.com 10.0.0.1", language=LANGUAGE)  # lazy loading off the clock
    return engine


def presidio_finder(analyzer: AnalyzerEngine) -> Finder:
    """Presidio's findings as (start, end, our entity type)."""

    def find(text: str) -> list[tuple[int, int, str]]:
        return [(r.start, r.end, TO_OURS[r.entity_type]) for r in analyzer.analyze(text, language=LANGUAGE)]

    return find


def text_operators(rule: Any) -> dict[str, OperatorConfig]:
    """Presidio's ``replace`` with our placeholder, for each entity its recognizers report."""
    return {
        presidio: OperatorConfig("replace", {"new_value": rule.placeholder_format.format(type=ours)})
        for _, presidio, ours, _ in RECOGNIZERS
    }


def _entity(name: str) -> str:
    return f"FIELD:{name}"  # cannot collide with a Presidio entity name


def _operators(rules: dict[str, Any]) -> dict[str, OperatorConfig]:
    operators: dict[str, OperatorConfig] = {}
    for name, rule in rules.items():
        kind = rule.transform
        entity = _entity(name)
        if kind == "scrub_text":
            operators.update(text_operators(rule))
        elif kind == "tokenize":
            operators[entity] = OperatorConfig("hash", {"hash_type": "sha256", "salt": SALT})
        elif kind == "mask":
            operators[entity] = OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 100, "from_end": False})
        elif kind in ("drop", "generalize"):
            operators[entity] = OperatorConfig("redact", {})
        elif kind == "redact":
            operators[entity] = OperatorConfig("replace", {"new_value": getattr(rule, "placeholder", "[REDACTED]")})
        elif kind == "encrypt":
            operators[entity] = OperatorConfig("encrypt", {"key": AES_KEY})
    return operators


def _field_results(name: str, value: Any, rule: Any) -> list[RecognizerResult]:
    """Whole-value (or after-prefix) results for a structured field: the nearest operator, no detection."""
    if rule is None or not isinstance(value, str) or not value:
        return []
    kind = rule.transform
    if kind in ("tokenize", "mask", "drop", "redact", "encrypt"):
        return [RecognizerResult(_entity(name), 0, len(value), 1.0)]
    if kind == "generalize" and getattr(rule, "prefix_length", None):
        prefix = int(rule.prefix_length)
        return [RecognizerResult(_entity(name), prefix, len(value), 1.0)] if len(value) > prefix else []
    return []


#: Per row image: the structured fields' results (built off the clock) and the texts the analyzer must read.
Image = tuple[list[DictRecognizerResult], list[tuple[str, str]]]


def _row_images(decoded: Decoded, rules: dict[str, Any]) -> list[list[Image]]:
    events = []
    for _key, value in decoded:
        images: list[Image] = []
        for slot in ("before", "after"):
            row = (value or {}).get(slot)
            if row is None:
                continue
            static, texts = [], []
            for name, field_value in row.items():
                rule = rules.get(name)
                if rule is not None and rule.transform == "scrub_text" and isinstance(field_value, str):
                    texts.append((name, field_value))
                else:
                    static.append(DictRecognizerResult(name, field_value, _field_results(name, field_value, rule)))
            images.append((static, texts))
        events.append(images)
    return events


# -- measurements ---------------------------------------------------------------------------------------------
@dataclass
class Rates:
    """One side-by-side rate measurement: items per second of ours and of Presidio."""

    core_per_s: float
    presidio_per_s: float
    core_items: int
    presidio_items: int

    @property
    def ratio(self) -> float:
        return self.core_per_s / self.presidio_per_s if self.presidio_per_s > 0 else 0.0

    def result(self) -> dict[str, float]:
        return {
            "core_per_s": round(self.core_per_s, 1),
            "presidio_per_s": round(self.presidio_per_s, 1),
            "core_over_presidio": round(self.ratio, 3),
            "core_items": self.core_items,
            "presidio_items": self.presidio_items,
        }


@dataclass
class Recall:
    entity: str
    seeded: int
    core_found: int
    presidio_found: int | None  # None: Presidio has no model-free recognizer for the type

    def result(self) -> dict[str, float]:
        out: dict[str, float] = {"seeded": self.seeded, "core": round(self.core_found / self.seeded, 4)}
        if self.presidio_found is not None:
            out["presidio"] = round(self.presidio_found / self.seeded, 4)
        return out


@dataclass
class Comparison:
    records: Rates  # whole events, like for like: the figure of the goal
    text: dict[str, Rates]  # scrub_text fields only, per corpus (pool notes, PII corpus)
    recall: dict[str, list[Recall]]  # per corpus, per entity type
    fields: list[tuple[str, str, str]]  # (field, our transform, Presidio's nearest)
    recognizers: list[str] = field(default_factory=list)  # Presidio recognizers run

    @property
    def core_vs_presidio_like_for_like(self) -> float:
        return round(self.records.ratio, 3)

    def result(self) -> dict[str, Any]:
        """Every figure, numbers only (the benchmark's last-line JSON)."""
        return {
            "core_vs_presidio_like_for_like": self.core_vs_presidio_like_for_like,
            "core_records_per_s": round(self.records.core_per_s, 1),
            "presidio_records_per_s": round(self.records.presidio_per_s, 1),
            "core_records": self.records.core_items,
            "presidio_records": self.records.presidio_items,
            "text_only": {corpus: rates.result() for corpus, rates in self.text.items()},
            "recall": {corpus: {r.entity: r.result() for r in rows} for corpus, rows in self.recall.items()},
        }

    def print_report(self) -> None:
        r = self.records
        print("transform only (no Kafka), same decoded events, like for like:")
        print(
            f"  Presidio: {len(self.recognizers)} model-free recognizers, NoOpNlpEngine: {', '.join(self.recognizers)}"
        )
        for label, rate in (
            ("core: streams.core.anonymize_batch (batches of 500)", r.core_per_s),
            ("presidio-analyzer on scrub_text fields + anonymize_dict", r.presidio_per_s),
        ):
            print(f"  {label:<58} {rate:>10,.0f} records/s")
        print(f"  core_vs_presidio_like_for_like: {self.core_vs_presidio_like_for_like:.2f}")
        for corpus, t in self.text.items():
            print(
                f"  text only, {corpus:<10}: scrub_text {t.core_per_s:>9,.0f} texts/s, Presidio analyze+anonymize "
                f"{t.presidio_per_s:>8,.0f} texts/s: {t.ratio:.2f}x"
            )
        for corpus, rows in self.recall.items():
            print(f"  recall on {corpus} (seeded, core, Presidio):")
            for row in rows:
                theirs = "not covered" if row.presidio_found is None else f"{row.presidio_found / row.seeded:.4f}"
                print(f"    {row.entity:<18} {row.seeded:>6} {row.core_found / row.seeded:>8.4f} {theirs:>12}")
        print(f"  ours only: {', '.join(f'{k} ({v})' for k, v in OURS_ONLY.items())}; national id kinds "
              f"{', '.join(OURS_ONLY_NATIONAL_IDS)}")  # fmt: skip
        print(f"  Presidio only (model-free, not run): {PRESIDIO_ONLY}")
        print("  field mapping (ours -> Presidio's nearest):")
        for name, ours, theirs in self.fields:
            print(f"    {name:<16} {ours:<11} -> {theirs}")


def _rate(items: Sequence[T], step: int, run: Callable[[Sequence[T]], object], budget_s: float) -> tuple[float, int]:
    """Items per second of ``run`` over chunks of ``items`` until all are done or ``budget_s`` has passed."""
    done = 0
    started = time.perf_counter()
    while done < len(items) and time.perf_counter() - started < budget_s:
        chunk = items[done : done + step]
        run(chunk)
        done += len(chunk)
    elapsed = time.perf_counter() - started
    return (done / elapsed if elapsed > 0 else 0.0), done


def recall_table(notes: list[Note], core: Finder, presidio: Finder) -> list[Recall]:
    """Recall per entity type seeded in ``notes``, ours and Presidio's (None where Presidio has no type). A
    seeded entity is found when one finding of its type covers all of it. French NIRs (NATIONAL_ID, but no
    Presidio recognizer) are counted apart, as ``NATIONAL_ID:fr_nir``."""
    counts: dict[str, list[int]] = {}
    for note in notes:
        ours, theirs = core(note.text), presidio(note.text)
        for seeded in note.seeded:
            label = seeded.entity
            if label == "NATIONAL_ID" and nir.is_valid(seeded.raw):
                label = "NATIONAL_ID:fr_nir"
            row = counts.setdefault(label, [0, 0, 0])
            row[0] += 1
            for i, spans in ((1, ours), (2, theirs)):
                row[i] += any(t == seeded.entity and s <= seeded.start and e >= seeded.end for s, e, t in spans)
    covered = set(TO_OURS.values())
    return [
        Recall(label, seeded, ours_found, theirs_found if label in covered else None)
        for label, (seeded, ours_found, theirs_found) in sorted(counts.items(), key=lambda item: _order(item[0]))
    ]


def _order(label: str) -> tuple[int, str]:
    entity = label.split(":")[0]
    return (ENTITY_TYPES.index(entity) if entity in ENTITY_TYPES else len(ENTITY_TYPES), label)


def pool_notes(texts: Sequence[str], note_entities: Mapping[str, Sequence[SeededEntity]]) -> list[Note]:
    """The distinct texts with a ground truth, as notes with their seeded entities."""
    notes = []
    for text in dict.fromkeys(texts):
        seeded = note_entities.get(text)
        if seeded is not None:
            notes.append(Note(text, [Seeded(s.entity, text[s.start : s.end], s.start, s.end) for s in seeded]))
    return notes


def _string_fields() -> set[str]:
    """Row fields whose Avro type is a string (or nullable string) in the contacts schema."""
    schema = json.loads(VALUE_SCHEMA_FILE.read_text())
    row = next(f for f in schema["fields"] if f["name"] == "before")  # "after" refers to it by name
    record = next(t for t in row["type"] if isinstance(t, dict))
    names = set()
    for fld in record["fields"]:
        types = fld["type"] if isinstance(fld["type"], list) else [fld["type"]]
        if "string" in types:
            names.add(fld["name"])
    return names


def _rules(loaded: LoadedPolicy) -> dict[str, Any]:
    return dict(loaded.policy.sources[0].fields)


def field_mapping(loaded: LoadedPolicy) -> list[tuple[str, str, str]]:
    """(field, our transform, Presidio's nearest) for every field the bench policy names."""
    strings = _string_fields()
    return [(name, rule.transform, nearest(rule, name in strings)) for name, rule in _rules(loaded).items()]


def compare(
    loaded: LoadedPolicy,
    decoded: Decoded,
    budget_s: float,
    note_entities: Mapping[str, Sequence[SeededEntity]] | None = None,
    corpus_size: int = 2000,
) -> Comparison:
    """The whole comparison; ``note_entities``: the ground truth of the pool's notes (no pool recall without
    it); ``corpus_size``: notes of the PII corpus (0: none). Whole events get ``budget_s`` per side, each
    text-only measurement half of it."""
    settings = Settings(
        tokenization_key=SecretStr(secrets.token_hex(32)), dead_letter_key=SecretStr(secrets.token_hex(32))
    )
    keyring = keyring_from_settings(settings)
    source = loaded.policy.sources[0]
    key_plan = compile_source_key(source, json.loads(KEY_SCHEMA_FILE.read_text()), keyring)
    envelope = compile_source_value(source, json.loads(VALUE_SCHEMA_FILE.read_text()), keyring)
    events = [EventIn(k, v) for k, v in decoded]

    def core_batch(batch: Sequence[EventIn]) -> None:
        errors = [o for o in anonymize_batch(key_plan, envelope, batch) if isinstance(o, Exception)]
        if errors:
            raise RuntimeError(f"core: {len(errors)} events failed: {errors[0]}")

    core_rate, core_done = _rate(events, BATCH, core_batch, budget_s)

    rules = _rules(loaded)
    text_rules = {name: rule for name, rule in rules.items() if rule.transform == "scrub_text"}
    analyzers = {name: presidio_analyzer(rule) for name, rule in text_rules.items()}
    scrubbers = {name: rule.build(BuildContext(keyring)) for name, rule in text_rules.items()}
    batch_engine = BatchAnonymizerEngine()
    anonymizer = AnonymizerEngine()
    operators = _operators(rules)
    images = _row_images(decoded, rules)

    def presidio_events(chunk: Sequence[list[Image]]) -> None:
        for event in chunk:
            for static, texts in event:
                found = [DictRecognizerResult(n, t, analyzers[n].analyze(t, language=LANGUAGE)) for n, t in texts]
                batch_engine.anonymize_dict([*static, *found], operators=operators)

    presidio_rate, presidio_done = _rate(images, 50, presidio_events, budget_s)
    records = Rates(core_rate, presidio_rate, core_done, presidio_done)

    # Text only and recall: the scrub_text fields' texts of every row image, then the PII corpus (through the
    # first scrub_text field's rule).
    corpora: dict[str, list[tuple[str, str]]] = {}
    corpora["pool_notes"] = [text for event in images for _static, texts in event for text in texts]
    if text_rules and corpus_size > 0:
        first = next(iter(text_rules))
        corpus = build_corpus(corpus_size)
        corpora["pii_corpus"] = [(first, note.text) for note in corpus]
    text: dict[str, Rates] = {}
    recall: dict[str, list[Recall]] = {}
    for name, items in corpora.items():
        if not items:
            continue
        text[name] = _text_rates(items, scrubbers, analyzers, operators, anonymizer, budget_s / 2)
    if text_rules:
        first = next(iter(text_rules))
        scrub = scrubbers[first]
        assert isinstance(scrub, ScrubText)
        finder = presidio_finder(analyzers[first])
        if note_entities is not None:
            notes = pool_notes([t for n, t in corpora["pool_notes"] if n == first], note_entities)
            recall["pool_notes"] = recall_table(notes, scrub.find, finder)
        if "pii_corpus" in corpora:
            recall["pii_corpus"] = recall_table(corpus, scrub.find, finder)
    names = sorted({type(r).__name__ for a in analyzers.values() for r in a.registry.recognizers})
    return Comparison(records, text, recall, field_mapping(loaded), names)


def _text_rates(
    items: Sequence[tuple[str, str]],
    scrubbers: Mapping[str, Any],
    analyzers: Mapping[str, AnalyzerEngine],
    operators: dict[str, OperatorConfig],
    anonymizer: AnonymizerEngine,
    budget_s: float,
) -> Rates:
    def ours(chunk: Sequence[tuple[str, str]]) -> None:
        for name, scrub in scrubbers.items():
            scrub.apply([t for n, t in chunk if n == name], BatchContext())

    def theirs(chunk: Sequence[tuple[str, str]]) -> None:
        for name, text in chunk:
            anonymizer.anonymize(text, analyzers[name].analyze(text, language=LANGUAGE), operators=operators)

    core_rate, core_done = _rate(items, BATCH, ours, budget_s)
    presidio_rate, presidio_done = _rate(items, 50, theirs, budget_s)
    return Rates(core_rate, presidio_rate, core_done, presidio_done)


def main(argv: list[str] | None = None) -> int:
    from streams.policy.loader import load_policy
    from tests.bench.data import decoded_contacts

    parser = argparse.ArgumentParser(prog="python -m tests.bench.presidio_compare", description=__doc__)
    parser.add_argument("--pool", type=int, default=10_000, help="contact events from the generator (10000)")
    parser.add_argument("--corpus", type=int, default=2000, help="notes of the seeded PII corpus (2000)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per side for whole events (10)")
    args = parser.parse_args(argv)
    decoded, note_entities = decoded_contacts(args.pool)
    comparison = compare(load_policy(POLICY_FILE), decoded, args.budget, note_entities, args.corpus)
    comparison.print_report()
    print(json.dumps(comparison.result()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
