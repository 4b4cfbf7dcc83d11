"""Transform-only comparison, no Kafka: ``streams.core.anonymize_batch`` against presidio-anonymizer.

Both get the same decoded Debezium contact events. Ours: the reference policy compiled once (fresh keys, empty
DP release caches), events in batches of 500; the work is the whole event (key, before and after images,
source block). Presidio: ``BatchAnonymizerEngine.anonymize_dict`` on each row image as a dict record, with the
nearest operator per field (``nearest`` below). Presidio's analyzer is not run (our core detects nothing
either, except ``scrub_text``): its recognizer results, one whole-value span per named field, are built
before the clock starts, and so are the PII spans inside ``notes`` when the policy scrubs that text (found
by locating the generator's own values in it, so Presidio gets them for free while our ``scrub_text`` has to
detect them). Rates are events per second; one event is one or two row images.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from presidio_anonymizer import BatchAnonymizerEngine
from presidio_anonymizer.entities import DictRecognizerResult, OperatorConfig, RecognizerResult
from pydantic import SecretStr

from streams.core import EventIn, anonymize_batch
from streams.envelope.registry import compile_source_key, compile_source_value
from streams.keys import keyring_from_settings
from streams.policy.loader import LoadedPolicy
from streams.settings import Settings
from tests.bench.common import KEY_SCHEMA_FILE, VALUE_SCHEMA_FILE

BATCH = 500
SALT = secrets.token_bytes(32)  # Presidio's hash with a fixed secret salt: deterministic, like a token
AES_KEY = secrets.token_hex(16)  # 32 hex characters: a 256-bit key as Presidio's encrypt takes it

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
        return "replace on the PII spans (spans given, no detection)"
    if kind == "generalize" and getattr(rule, "prefix_length", None):
        return "redact of the span after the prefix (same output)"
    if kind == "encrypt":
        return ENCRYPT_NOTE
    return "none"


@dataclass
class Comparison:
    core_events_per_s: float
    presidio_events_per_s: float
    core_events: int
    presidio_events: int
    fields: list[tuple[str, str, str]]  # (field, our transform, Presidio's nearest)


def _rules(loaded: LoadedPolicy) -> dict[str, Any]:
    return dict(loaded.policy.sources[0].fields)


def _operators(rules: dict[str, Any]) -> dict[str, OperatorConfig]:
    operators: dict[str, OperatorConfig] = {
        # scrub_text's placeholders, for the spans inside free text
        "PERSON": OperatorConfig("replace", {"new_value": "<PERSON>"}),
        "PHONE_NUMBER": OperatorConfig("replace", {"new_value": "<PHONE>"}),
        "EMAIL_ADDRESS": OperatorConfig("replace", {"new_value": "<EMAIL>"}),
    }
    for name, rule in rules.items():
        entity = name.upper()
        kind = rule.transform
        if kind == "tokenize":
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


def _text_spans(text: str, row: dict[str, Any]) -> list[RecognizerResult]:
    spans = []
    for entity, needle in (("PERSON", row.get("first_name")), ("PHONE_NUMBER", row.get("phone")),
                           ("EMAIL_ADDRESS", row.get("email"))):  # fmt: skip
        if isinstance(needle, str) and needle:
            start = text.find(needle)
            while start >= 0:
                spans.append(RecognizerResult(entity, start, start + len(needle), 1.0))
                start = text.find(needle, start + len(needle))
    return spans


def _field_results(name: str, value: Any, rule: Any, row: dict[str, Any]) -> list[RecognizerResult]:
    if rule is None or not isinstance(value, str) or not value:
        return []
    kind = rule.transform
    entity = name.upper()
    if kind in ("tokenize", "mask", "drop", "redact", "encrypt"):
        return [RecognizerResult(entity, 0, len(value), 1.0)]
    if kind == "scrub_text":
        return _text_spans(value, row)
    if kind == "generalize" and getattr(rule, "prefix_length", None):
        prefix = int(rule.prefix_length)
        return [RecognizerResult(entity, prefix, len(value), 1.0)] if len(value) > prefix else []
    return []


def _presidio_inputs(
    decoded: Sequence[tuple[dict[str, Any], dict[str, Any] | None]], rules: dict[str, Any]
) -> list[list[list[DictRecognizerResult]]]:
    """Per event, per row image: the analyzer output Presidio's batch engine expects (built off the clock)."""
    inputs = []
    for _key, value in decoded:
        images = []
        for slot in ("before", "after"):
            row = (value or {}).get(slot)
            if row is None:
                continue
            images.append([DictRecognizerResult(n, v, _field_results(n, v, rules.get(n), row)) for n, v in row.items()])
        inputs.append(images)
    return inputs


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


def field_mapping(loaded: LoadedPolicy) -> list[tuple[str, str, str]]:
    """(field, our transform, Presidio's nearest) for every field the reference policy names."""
    strings = _string_fields()
    return [(name, rule.transform, nearest(rule, name in strings)) for name, rule in _rules(loaded).items()]


def compare(
    loaded: LoadedPolicy,
    decoded: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
    budget_s: float,
) -> Comparison:
    settings = Settings(
        tokenization_key=SecretStr(secrets.token_hex(32)), dead_letter_key=SecretStr(secrets.token_hex(32))
    )
    keyring = keyring_from_settings(settings)
    source = loaded.policy.sources[0]
    key_plan = compile_source_key(source, json.loads(KEY_SCHEMA_FILE.read_text()), keyring)
    envelope = compile_source_value(source, json.loads(VALUE_SCHEMA_FILE.read_text()), keyring)
    events = [EventIn(k, v) for k, v in decoded]

    done = 0
    started = time.perf_counter()
    while done < len(events) and time.perf_counter() - started < budget_s:
        batch = events[done : done + BATCH]
        outcomes = anonymize_batch(key_plan, envelope, batch)
        errors = [o for o in outcomes if isinstance(o, Exception)]
        if errors:
            raise RuntimeError(f"core: {len(errors)} events failed: {errors[0]}")
        done += len(batch)
    core_elapsed = time.perf_counter() - started
    core_done = done

    rules = _rules(loaded)
    engine = BatchAnonymizerEngine()
    operators = _operators(rules)
    inputs = _presidio_inputs(decoded, rules)
    done = 0
    started = time.perf_counter()
    while done < len(inputs) and time.perf_counter() - started < budget_s:
        for images in inputs[done : done + 50]:
            for image in images:
                engine.anonymize_dict(image, operators=operators)
        done += len(inputs[done : done + 50])
    presidio_elapsed = time.perf_counter() - started

    return Comparison(
        core_done / core_elapsed,
        done / presidio_elapsed,
        core_done,
        done,
        field_mapping(loaded),
    )
