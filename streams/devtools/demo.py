"""``make demo``: the whole product on real services, with a readable summary and a JSON last line."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.devtools.generator.debezium import CONTACTS_TOPIC, CdcEvent, CrmCdcGenerator
from streams.devtools.generator.producer import TOPICS, CdcProducer
from streams.devtools.generator.salesforce import CONTACT_TOPIC as SFDC_CONTACTS
from streams.devtools.generator.salesforce import TOPICS as SFDC_TOPICS
from streams.devtools.generator.salesforce import SalesforceCdcGenerator
from streams.devtools.leaks import LeakScanner
from streams.devtools.progress import counter, tracked
from streams.devtools.services._process import free_port
from streams.kafka.admin import delete_topics, ensure_topics
from streams.kafka.config import librdkafka_config, registry_client
from streams.kafka.reader import Record, read_topic
from streams.keys import KeyRing
from streams.policy.build import build_transform
from streams.policy.loader import load_policy
from streams.settings import Settings
from streams.transforms.base import BatchContext
from streams.transforms.mask import Mask

SHOW_MASK = Mask(keep_first=1, style="auto")


SHOWN_AS_IS = frozenset({"country", "billing_country", "industry", "op"})
HIDDEN_NUMBERS = frozenset({"id", "birth_date", "account_id"})


def _masked(row: Any) -> Any:
    """The raw side of a sample for the console: every string masked, nested values (Salesforce's
    ``MailingAddress``, ``Name``; arrays, maps) included, identifying numbers hidden. Only a few
    non-identifying fields are shown as they are."""
    if row is None:
        return None
    return {name: _masked_value(name, value) for name, value in row.items()}


def _masked_value(name: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_value(name, v) for v in value]
    if isinstance(value, str):
        return value if name.lower() in SHOWN_AS_IS or not value else SHOW_MASK.mask(value)
    if name.lower() in HIDDEN_NUMBERS or name.endswith("Id"):
        return "<raw hidden>"
    return value


def _wait_for_audits(settings: Settings, expected: int, worker: subprocess.Popen[bytes], timeout: float) -> int:
    from confluent_kafka import Consumer

    consumer = Consumer(
        librdkafka_config(
            settings.connection,
            **{
                "group.id": f"demo-audit-{secrets.token_hex(4)}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([settings.audit_topic])
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        with counter(expected, "anonymizing (audit events)") as (bar, task):
            while seen < expected and time.monotonic() < deadline:
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited early with code {worker.returncode}")
                seen += sum(1 for m in consumer.consume(2000, timeout=0.5) if not m.error())
                bar.update(task, completed=seen)
    finally:
        consumer.close()
    return seen


def forget_subjects(settings: Settings, topics: list[str]) -> None:
    """A demo run starts from scratch: its topics' subjects go too, or a changed policy would (rightly) be
    refused as incompatible with what an earlier run registered."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    client = registry_client(settings.connection)
    subjects = set(client.get_subjects())
    for subject in (f"{t}-{part}" for t in topics for part in ("key", "value")):
        if subject in subjects:
            for permanent in (False, True):
                try:
                    client.delete_subject(subject, permanent=permanent)
                except SchemaRegistryError:
                    pass


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def run_demo(base: Settings, count: int, timeout: float) -> int:
    from streams.devtools.services import local
    from streams.devtools.services.settings import LocalServicesSettings

    services = LocalServicesSettings()

    run_id = secrets.token_hex(3)
    settings = base.model_copy(update={"app_id": f"crm-anonymizer-demo-{run_id}"})
    tokenization_key, dead_letter_key, encryption_key = (secrets.token_hex(32) for _ in range(3))
    print(f"crm-anonymizer demo run {run_id}: {count} synthetic CDC events")
    started_services = not all(s["answering"] for s in local.status(services).values())
    local.up(services)
    try:
        loaded = load_policy(settings.policy_file)
        outputs = [s.output_topic for s in loaded.policy.sources]
        demo_topics = [*TOPICS, *SFDC_TOPICS, *outputs, settings.audit_topic, settings.dead_letter_topic]
        delete_topics(settings.connection, demo_topics)
        forget_subjects(settings, demo_topics)
        # Output topics are the worker's to create: their retention covers the policy's backdated timestamps.
        ensure_topics(settings.connection, [t for t in demo_topics if t not in outputs], settings.topic_partitions)

        # Four fifths Debezium (contacts, accounts), one fifth Salesforce change events (Contact, Account).
        generator = CrmCdcGenerator(seed=7)
        salesforce = SalesforceCdcGenerator(seed=11)
        sfdc_count = count // 5
        events: list[CdcEvent] = [*generator.events(count - sfdc_count), *salesforce.events(sfdc_count)]
        identifiers = generator.identifiers.values | salesforce.identifiers.values
        producer = CdcProducer(settings.connection)
        t0 = time.monotonic()
        producer.produce(tracked(events, len(events), "producing"))
        producer.flush()
        del producer  # its librdkafka threads would complain once the broker stops
        print(f"produced {len(events)} events in {time.monotonic() - t0:.1f}s ({Counter(e.topic for e in events)})")

        log_path = settings.state_dir / "logs" / f"demo-worker-{run_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "CRM_ANON_APP_ID": settings.app_id,
            "CRM_ANON_TOKENIZATION_KEY": tokenization_key,
            "CRM_ANON_DEAD_LETTER_KEY": dead_letter_key,
            "CRM_ANON_ENCRYPTION_KEY": encryption_key,
            "CRM_ANON_LOG_FORMAT": "json",
            # A free port unless one is set: parallel demos and test runs must not collide on the metrics port.
            "CRM_ANON_METRICS_PORT": os.environ.get("CRM_ANON_METRICS_PORT") or str(free_port()),
            "CRM_ANON_LOCAL_SERVICES": "1",  # the demo runs on the single-broker local services
        }
        print(
            f"worker metrics: http://127.0.0.1:{env['CRM_ANON_METRICS_PORT']}/metrics (crm-anonymizer status --url ...)"
        )
        with log_path.open("wb") as log_file:
            worker_started = time.monotonic()
            worker = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            try:
                audited = _wait_for_audits(settings, len(events), worker, timeout)
            finally:
                _stop(worker)
        wall = time.monotonic() - worker_started
        print(f"worker accounted for {audited} events in {wall:.1f}s wall (incl. start-up); log: {log_path}")

        registry = registry_client(settings.connection)
        deserializer = AvroDeserializer(registry)
        scanner = LeakScanner(identifiers)
        anonymized: dict[str, list[Record]] = {t: read_topic(settings.connection, t) for t in outputs}
        audits = read_topic(settings.connection, settings.audit_topic)
        letters = read_topic(settings.connection, settings.dead_letter_topic)
        for where, records in [*anonymized.items(), ("audit", audits), ("dead-letter", letters)]:
            for rec in records:
                scanner.scan(rec.key, where)
                scanner.scan(rec.value, where)
                for _, header in rec.headers:
                    scanner.scan(header, where)
        scanner.scan(log_path.read_bytes(), "worker-log")

        audit_values = [deserializer(r.value, SerializationContext(r.topic, MessageField.VALUE)) for r in audits]
        outcomes = Counter(a["outcome"] for a in audit_values)
        times = [a["processed_at"] for a in audit_values]
        span = (max(times) - min(times)).total_seconds() if len(times) > 1 else 0.0
        events_per_second = round(len(audit_values) / span, 1) if span > 0 else 0.0
        uncovered = sorted({f for a in audit_values for f in a["uncovered_fields"]})

        keyring = KeyRing({settings.tokenization_key_id: bytes.fromhex(tokenization_key)}, settings.tokenization_key_id)

        def token_of(topic: str, field: str, value: Any) -> Any:
            source = loaded.policy.source_for_topic(topic)
            transform = build_transform(source.fields[field], keyring) if source else None
            return transform.apply([value], BatchContext())[0] if transform else None

        printed: list[str] = []

        def show(text: str) -> None:
            """Print a sample line and keep it: the leak scan covers what the demo itself prints."""
            printed.append(text)
            print(text)

        show("\n== samples (raw side masked for display) ==")
        contact_out = anonymized.get("anon.crm.public.contacts", [])
        for rec in contact_out:
            out = deserializer(rec.value, SerializationContext(rec.topic, MessageField.VALUE)) if rec.value else None
            if out is None or out["op"] != "u":
                continue
            # Joined by the id token (the envelope's times and positions are coarsened or dropped): the first
            # update of that contact in, the first out (per-record order is kept).
            raw = next(
                e
                for e in events
                if e.topic == CONTACTS_TOPIC
                and e.value
                and e.value["op"] == "u"
                and token_of(CONTACTS_TOPIC, "id", e.value["after"]["id"]) == out["after"]["id"]
            )
            show("-- Debezium update of a contact (after image). Input, masked for display:")
            show(json.dumps(_masked(raw.value["after"] if raw.value else None), default=str))
            show("   output:")
            show(json.dumps(out["after"], default=str))
            break
        for rec in anonymized.get(f"anon.{SFDC_CONTACTS}", []):
            out = deserializer(rec.value, SerializationContext(rec.topic, MessageField.VALUE)) if rec.value else None
            if out is None or out["ChangeEventHeader"]["changeType"] != "UPDATE":
                continue
            header = out["ChangeEventHeader"]
            raw = next(
                e
                for e in events
                if e.topic == SFDC_CONTACTS
                and e.value
                and e.value["ChangeEventHeader"]["changeType"] == "UPDATE"
                and [token_of(SFDC_CONTACTS, "Contact.Id", i) for i in e.value["ChangeEventHeader"]["recordIds"]]
                == header["recordIds"]
            )
            assert raw.value is not None
            raw_fields = {k: v for k, v in raw.value.items() if v is not None and k != "ChangeEventHeader"}
            show("-- Salesforce Contact UPDATE (sparse: changed fields only). Input, masked for display:")
            show(json.dumps({"recordIds": "<raw hidden>", **(_masked(raw_fields) or {})}, default=str))
            show("   output:")
            show(
                json.dumps(
                    {
                        "recordIds": header["recordIds"],
                        "changedFields": header["changedFields"],
                        **{k: v for k, v in out.items() if v is not None and k != "ChangeEventHeader"},
                    },
                    default=str,
                )
            )
            break

        scanner.scan("\n".join(printed).encode(), "demo-output")

        anonymized_out = sum(len(v) for v in anonymized.values())
        summary = {
            "events_in": len(events),
            "anonymized_out": anonymized_out,
            "dead_lettered": len(letters),
            "audit_events": len(audits),
            "audit_outcomes": dict(outcomes),
            "uncovered_fields_dropped": uncovered,
            "raw_value_leaks": scanner.total,
            "leaks_by_place": scanner.found,
            "identifiers_checked": len(identifiers),
            "events_per_second": events_per_second,
            "worker_wall_seconds": round(wall, 1),
            "policy": {
                "id": loaded.policy.id,
                "version": loaded.policy.version,
                "hash": loaded.content_hash[:16],
            },
        }
        print("\n== summary ==")
        for key in (
            "events_in",
            "anonymized_out",
            "dead_lettered",
            "audit_events",
            "raw_value_leaks",
            "identifiers_checked",
            "events_per_second",
        ):
            print(f"{key:>22}: {summary[key]}")
        print(f"{'uncovered (dropped)':>22}: {', '.join(uncovered) or '-'}")
        ok = anonymized_out + len(letters) == len(events) and len(audits) == len(events) and scanner.total == 0
        print(f"{'result':>22}: {'OK' if ok else 'FAILED'}")
        last_line = json.dumps(summary)
        code = 0 if ok else 1
    finally:
        if started_services:
            local.down(services)
    # The JSON object is the very last line, after the services' shutdown messages.
    sys.stderr.flush()
    print(last_line, flush=True)
    return code
