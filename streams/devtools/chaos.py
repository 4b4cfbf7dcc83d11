"""``crm-anonymizer chaos`` (``make chaos``): the worker under faults and hostile input, every position counted.

On the local services: ``events`` valid Debezium and Salesforce change events with known identifiers; the
worker SIGKILLed ``kills`` times mid-stream (recovery measured: SIGKILL to the next audit event); the broker
restarted; the worker stopped gracefully and restarted into a registry stalled (SIGSTOP) for
``registry_stall_s`` seconds; then ``hostile`` distinct hostile records (``devtools.hostile``: random and
truncated frames, wrong magic, unknown and beyond-int32 schema ids, mutated bodies, odd headers, part of them
gzip-compressed) and extreme valid events (NaN/inf/huge numbers in DP fields, ~0.9 MB strings, invalid UTF-8,
malformed Salesforce bitmaps) carrying canaries. Then every input position is accounted for: lost,
duplicated (and whether droppable by the source-position headers), dead-lettered by reason, valid events
dead-lettered, raw identifiers and canaries in any output, audit, dead letter or worker log (the worker
exposes no metrics endpoint), worker exits, processes left behind. The last line is JSON; exit 0 only if
every check holds.
"""

from __future__ import annotations

import io
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Producer, TopicPartition
from fastavro import parse_schema, schemaless_reader

from streams.audit import AUDIT_SCHEMA
from streams.devtools.demo import forget_subjects
from streams.devtools.generator.debezium import CONTACTS_TOPIC, CdcEvent, CrmCdcGenerator
from streams.devtools.generator.producer import TOPICS, CdcProducer
from streams.devtools.generator.salesforce import CONTACT_TOPIC as SFDC_CONTACTS
from streams.devtools.generator.salesforce import TOPICS as SFDC_TOPICS
from streams.devtools.generator.salesforce import SalesforceCdcGenerator
from streams.devtools.hostile import hostile_variants
from streams.devtools.leaks import LeakScanner
from streams.devtools.services import local
from streams.devtools.services._process import free_port
from streams.devtools.services.settings import LocalServicesSettings
from streams.health import STALLED_EXIT_CODE
from streams.kafka.admin import delete_topics, ensure_topics
from streams.kafka.config import librdkafka_config, registry_client
from streams.kafka.reader import Record, read_topic
from streams.policy.loader import load_policy
from streams.settings import Settings

SOURCE_HEADERS = ("crm-anonymizer-source-topic", "crm-anonymizer-source-partition", "crm-anonymizer-source-offset")
SOURCES = (*TOPICS, *SFDC_TOPICS)
Position = tuple[str, int, int]


@dataclass
class ChaosConfig:
    events: int = 30_000
    kills: int = 3
    broker_restart: bool = True
    registry_stall_s: float = 30.0
    hostile: int = 1_200
    timeout_s: float = 1_200.0
    seed: int = 20261202


@dataclass
class Run:
    settings: Settings
    env: dict[str, str]
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    exits: list[dict[str, Any]] = field(default_factory=list)
    unexpected_exits: int = 0
    stall_restarts: int = 0
    orphans: int = 0

    @property
    def current(self) -> subprocess.Popen[bytes]:
        return self.procs[-1]

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def check_alive(self) -> None:
        """A worker that exited on its own is counted (a crash loop shows here) and replaced, as a supervisor
        would; an exit of the stall watchdog (code 75: consumer assigned but idle with records waiting) is
        counted apart, since restarting is what it asks for."""
        code = self.current.poll()
        if code is not None:
            if code == STALLED_EXIT_CODE:
                self.stall_restarts += 1
            else:
                self.unexpected_exits += 1
            self.exits.append({"how": "on its own", "code": code})
            self.start()

    def stop(self, sig: int) -> float:
        """Send ``sig``; returns the seconds until the worker and its child processes are gone."""
        proc = self.current
        children = _children(proc.pid)
        started = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(90)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [p for p in children if _alive(p)]
        self.orphans += len(left)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        self.exits.append({"how": signal.Signals(sig).name, "code": code, "left_behind": len(left)})
        return time.monotonic() - started


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


class AuditTail(threading.Thread):
    """Counts audit events and the distinct positions they name as they arrive (the progress signal)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.count = 0
        self.positions: set[Position] = set()
        self._parsed = parse_schema(AUDIT_SCHEMA)
        self._stop_event = threading.Event()
        self._consumer = Consumer(
            librdkafka_config(
                settings.connection,
                **{"group.id": f"chaos-tail-{secrets.token_hex(4)}", "auto.offset.reset": "earliest"},
            )
        )
        self._consumer.subscribe([settings.audit_topic])

    def run(self) -> None:
        while not self._stop_event.is_set():
            for message in self._consumer.consume(1000, timeout=0.2):
                value = message.value()
                if message.error() is None and value:
                    audit = schemaless_reader(io.BytesIO(value[5:]), self._parsed, None)
                    assert isinstance(audit, dict)
                    self.positions.add((audit["source_topic"], audit["source_partition"], audit["source_offset"]))
                    self.count += 1
        self._consumer.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)

    def wait_for(self, count: int, run: Run, deadline: float) -> None:
        while self.count < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count} of {count} audit events before the deadline")
            run.check_alive()
            time.sleep(0.1)

    def wait_for_positions(self, count: int, run: Run, deadline: float) -> None:
        while len(self.positions) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.positions)} of {count} positions audited before the deadline")
            run.check_alive()
            time.sleep(0.1)

    def progress_after(self, run: Run, deadline: float) -> float:
        """Seconds until the audit count grows from now on."""
        started, base = time.monotonic(), self.count
        self.wait_for(base + 1, run, deadline)
        return time.monotonic() - started


def _watermarks(settings: Settings) -> dict[tuple[str, int], int]:
    consumer = Consumer(librdkafka_config(settings.connection, **{"group.id": f"chaos-{secrets.token_hex(4)}"}))
    try:
        out: dict[tuple[str, int], int] = {}
        for topic in SOURCES:
            for partition in consumer.list_topics(topic, timeout=15).topics[topic].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
                out[(topic, partition)] = high
        return out
    finally:
        consumer.close()


def _extreme_events(rng: random.Random, canaries: list[str]) -> list[CdcEvent]:
    """Valid-schema events with extreme values, each carrying a canary."""
    contacts = [e for e in CrmCdcGenerator(seed=rng.randrange(10**6)).events(40) if e.topic == CONTACTS_TOPIC]
    sfdc = [e for e in SalesforceCdcGenerator(seed=rng.randrange(10**6)).events(30) if e.topic == SFDC_CONTACTS]
    out: list[CdcEvent] = []
    extremes: list[Any] = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 2.0**63]
    for i, event in enumerate(contacts):
        row = dict((event.value or {}).get("after") or {})
        if not row:
            continue
        canary = f"CHAOS-CANARY-{i}-{secrets.token_hex(4)}"
        canaries.append(canary)
        row["lifetime_value"] = extremes[i % len(extremes)]
        # Canaries go where the policy protects identifiers (scrub_text on notes removes only what looks like
        # personal data, so an arbitrary canary there would pass by design).
        row["notes"] = "x " * 450_000 if i % 7 == 0 else "call me"
        row["email"] = f"{canary.lower()}@canary.example"
        canaries.append(row["email"])
        row["last_name"] = canary
        out.append(CdcEvent(event.topic, event.key, {**(event.value or {}), "after": row}))
    for event in sfdc:
        value = dict(event.value or {})
        header = dict(value.get("ChangeEventHeader") or {})
        if not header:
            continue
        header["changedFields"] = [rng.choice(["0xZZ", "-1-0x", "99-0xffff", "0x" + "f" * 200, "", "Email"])]
        header["changeOrigin"] = rng.choice(["com/salesforce/jane/doe", "client=jane@doe.example", ""])
        out.append(CdcEvent(event.topic, event.key, {**value, "ChangeEventHeader": header}))
    return out


def _invalid_utf8(
    frames: Sequence[tuple[bytes | None, bytes | None]],
) -> list[tuple[bytes | None, bytes | None]]:
    """Valid frames with one UTF-8 continuation byte broken (an invalid string of the right length)."""
    out: list[tuple[bytes | None, bytes | None]] = []
    for key, value in frames:
        if value and b"@" in value:
            at = value.index(b"@")
            out.append((key, value[:at] + b"\xff\xfe" + value[at + 2 :]))
    return out


def _decode_all(settings: Settings, records: list[Record]) -> list[dict[str, Any]]:
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    deserialize = AvroDeserializer(registry_client(settings.connection))
    return [deserialize(r.value, SerializationContext(r.topic, MessageField.VALUE)) for r in records if r.value]


def _position(record: Record) -> Position | None:
    headers = dict(record.headers or [])
    if not all(h in headers for h in SOURCE_HEADERS):
        return None
    return (headers[SOURCE_HEADERS[0]].decode(), int(headers[SOURCE_HEADERS[1]]), int(headers[SOURCE_HEADERS[2]]))


def _scrape(port: int) -> bytes:
    """The worker's /metrics page (empty if it does not answer: the scan then has nothing, and says so)."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).content
    except httpx.HTTPError:
        return b""


def _phase(name: str, started: float) -> None:
    print(f"chaos: {name} at {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)


def run_chaos(base: Settings, config: ChaosConfig) -> dict[str, Any]:
    services = LocalServicesSettings()
    local.up(services)
    run_id = secrets.token_hex(3)
    settings = base.model_copy(update={"app_id": f"crm-anonymizer-chaos-{run_id}", "local_services": True})
    logs = settings.state_dir / "logs" / f"chaos-{run_id}"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CRM_ANON_APP_ID": settings.app_id,
        "CRM_ANON_TOKENIZATION_KEY": secrets.token_hex(32),
        "CRM_ANON_DEAD_LETTER_KEY": secrets.token_hex(32),
        "CRM_ANON_ENCRYPTION_KEY": secrets.token_hex(32),
        "CRM_ANON_LOG_FORMAT": "json",
        "CRM_ANON_LOCAL_SERVICES": "1",
        "CRM_ANON_STATE_DIR": str(settings.state_dir / f"chaos-{run_id}"),
        "CRM_ANON_METRICS_PORT": str(free_port()),  # scraped and scanned for leaks like the topics and logs
        "CRM_ANON_STALL_TIMEOUT_S": "60",  # small tables: a stalled consumer is restarted within a minute
    }
    rng = random.Random(config.seed)  # noqa: S311 (test data, never privacy randomness)
    deadline = time.monotonic() + config.timeout_s
    loaded = load_policy(settings.policy_file)
    outputs = [s.output_topic for s in loaded.policy.sources]
    topics = [*SOURCES, *outputs, settings.audit_topic, settings.dead_letter_topic]
    delete_topics(settings.connection, topics)
    forget_subjects(settings, topics)
    # Output topics are the worker's to create: their retention covers the policy's backdated timestamps.
    ensure_topics(settings.connection, [t for t in topics if t not in outputs], settings.topic_partitions)

    sfdc_count = config.events // 5
    debezium, salesforce = CrmCdcGenerator(seed=config.seed), SalesforceCdcGenerator(seed=config.seed + 1)
    events = [*debezium.events(config.events - sfdc_count), *salesforce.events(sfdc_count)]
    rng.shuffle(events)
    identifiers = debezium.identifiers.values | salesforce.identifiers.values
    producer = CdcProducer(settings.connection)
    producer.produce(events)
    producer.flush()

    run = Run(settings, env, logs)
    tail = AuditTail(settings)
    tail.start()
    figures: dict[str, Any] = {"recovery_after_sigkill_s": []}
    t0 = time.monotonic()
    _phase("events produced", t0)
    try:
        run.start()
        for k in range(1, config.kills + 1):
            tail.wait_for_positions(config.events * k // (config.kills + 2), run, deadline)
            run.stop(signal.SIGKILL)
            killed_at = time.monotonic()
            run.start()
            time.sleep(2.0)  # what the killed worker's child still delivers is not the replacement's progress
            tail.wait_for(tail.count + 1, run, deadline)
            figures["recovery_after_sigkill_s"].append(round(time.monotonic() - killed_at, 1))
            _phase(f"kill {k} recovered", t0)
        if config.broker_restart:
            tail.wait_for_positions(config.events * (config.kills + 1) // (config.kills + 2), run, deadline)
            figures["broker_down_s"] = round(local.restart_kafka(services), 1)
            figures["progress_after_broker_back_s"] = round(tail.progress_after(run, deadline), 1)
        tail.wait_for_positions(config.events, run, deadline)
        _phase("valid events audited", t0)
        figures["graceful_stop_s"] = round(run.stop(signal.SIGTERM), 1)

        # Restart into a stalled registry, with probe events waiting (produced while the registry answers).
        probes = CrmCdcGenerator(seed=config.seed + 2)
        probe_events = list(probes.events(100))
        identifiers |= probes.identifiers.values
        producer = CdcProducer(settings.connection)
        producer.produce(probe_events)
        producer.flush()
        registry_pid = local.status(services)["registry"]["pid"]
        assert registry_pid
        before_stall = len(tail.positions)
        os.kill(registry_pid, signal.SIGSTOP)
        try:
            run.start()
            time.sleep(config.registry_stall_s)
            run.check_alive()
        finally:
            os.kill(registry_pid, signal.SIGCONT)
        resumed = time.monotonic()
        tail.wait_for_positions(before_stall + 1, run, deadline)
        figures["progress_after_registry_back_s"] = round(time.monotonic() - resumed, 1)
        tail.wait_for_positions(before_stall + len(probe_events), run, deadline)
        _phase("registry stall over", t0)
        valid_until = _watermarks(settings)

        # Hostile records, from valid frames read back from the source topics.
        canaries: list[str] = []
        hostile_base = len(tail.positions)
        frames = [(r.key, r.value) for t in SOURCES for r in read_topic(settings.connection, t)[:300]]
        raw = Producer(librdkafka_config(settings.connection, **{"message.max.bytes": 2_000_000}))
        gzip = Producer(librdkafka_config(settings.connection, **{"compression.type": "gzip"}))
        hostile = list(hostile_variants(frames, rng, config.hostile))
        for i, (key, value, headers) in enumerate(hostile):
            kafka_headers: list[tuple[str, str | bytes | None]] = list(headers)
            (gzip if i % 5 == 0 else raw).produce(rng.choice(SOURCES), key=key, value=value, headers=kafka_headers)
        for key, value in _invalid_utf8(frames[:50]):
            raw.produce(CONTACTS_TOPIC, key=key, value=value)
        assert raw.flush(60) == 0 and gzip.flush(60) == 0
        extreme = _extreme_events(rng, canaries)
        producer = CdcProducer(settings.connection)
        producer.produce(extreme)
        producer.flush()
        all_until = _watermarks(settings)
        expected_hostile = sum(all_until.values()) - sum(valid_until.values())
        _phase(f"{expected_hostile} hostile records produced", t0)
        tail.wait_for_positions(hostile_base + expected_hostile, run, deadline)
        _phase("hostile records audited", t0)
        time.sleep(2)
        (logs / "metrics.txt").write_bytes(_scrape(int(env["CRM_ANON_METRICS_PORT"])))
        figures["final_stop_s"] = round(run.stop(signal.SIGTERM), 1)
    finally:
        tail.stop()
        for proc in run.procs:
            if proc.poll() is None:
                proc.kill()

    return _account(settings, run, figures, outputs, valid_until, identifiers, canaries, logs, config)


def _account(
    settings: Settings,
    run: Run,
    figures: dict[str, Any],
    outputs: list[str],
    valid_until: dict[tuple[str, int], int],
    identifiers: set[str],
    canaries: list[str],
    logs: Path,
    config: ChaosConfig,
) -> dict[str, Any]:
    inputs = [(r.topic, r.partition, r.offset) for t in SOURCES for r in read_topic(settings.connection, t)]
    valid = {p for p in inputs if p[2] < valid_until.get((p[0], p[1]), 0)}
    hostile = set(inputs) - valid
    audit_records = read_topic(settings.connection, settings.audit_topic)
    audits = _decode_all(settings, audit_records)
    letter_records = read_topic(settings.connection, settings.dead_letter_topic)
    letters = _decode_all(settings, letter_records)
    output_records = [r for t in outputs for r in read_topic(settings.connection, t)]

    audited = Counter((a["source_topic"], a["source_partition"], a["source_offset"]) for a in audits)
    outcomes: dict[Position, set[str]] = {}
    for a in audits:
        outcomes.setdefault((a["source_topic"], a["source_partition"], a["source_offset"]), set()).add(a["outcome"])
    out_positions = Counter(_position(r) for r in output_records)
    scanner = LeakScanner([*identifiers, *canaries])
    for where, records in (("output", output_records), ("audit", audit_records), ("dead-letter", letter_records)):
        for rec in records:
            scanner.scan(rec.key, where)
            scanner.scan(rec.value, where)
            for name, header in rec.headers or []:
                scanner.scan(name.encode(), where)
                scanner.scan(header, where)
    for log_file in sorted(logs.glob("worker-*.log")):
        scanner.scan(log_file.read_bytes(), "worker-log")
    metrics_pages = [page.read_bytes() for page in sorted(logs.glob("metrics*.txt"))]
    for page in metrics_pages:
        scanner.scan(page, "metrics")

    lost = [p for p in inputs if p not in audited]
    duplicated_audits = sum(n - 1 for n in audited.values() if n > 1)
    duplicated_outputs = sum(n - 1 for p, n in out_positions.items() if p is not None and n > 1)
    valid_dead = [p for p in valid if "DEAD_LETTERED" in outcomes.get(p, set())]
    hostile_once = sum(1 for p in hostile if audited.get(p) == 1)
    lettered = {(x["source_topic"], x["source_partition"], x["source_offset"]) for x in letters}
    published = {p for p, seen in outcomes.items() if seen & {"PUBLISHED", "REPLAYED"}}
    outputs_unaudited = [p for p in out_positions if p is not None and p not in published]
    letters_missing = [p for p, seen in outcomes.items() if "DEAD_LETTERED" in seen and p not in lettered]
    result = {
        "events_valid": len(valid),
        "events_hostile": len(hostile),
        "lost": len(lost),
        "duplicated_audits": duplicated_audits,
        "duplicated_outputs": duplicated_outputs,
        "outputs_without_source_position": out_positions.get(None, 0),
        "duplicates_droppable_by_source_position": out_positions.get(None, 0) == 0,
        "dead_lettered_by_reason": dict(Counter(x["reason_code"] for x in letters)),
        "valid_events_dead_lettered": len(valid_dead),
        "outputs_without_published_audit": len(outputs_unaudited),
        "dead_lettered_audits_without_letter": len(letters_missing),
        "hostile_audited_exactly_once": hostile_once,
        "raw_value_leaks": scanner.total,
        "leaks_by_place": scanner.found,
        "identifiers_checked": len(identifiers) + len(canaries),
        "metrics_scanned": f"{sum(len(p) for p in metrics_pages)} bytes of /metrics",
        "worker_exits": run.exits,
        "unexpected_worker_exits": run.unexpected_exits,
        "stall_watchdog_restarts": run.stall_restarts,
        "processes_left_behind": run.orphans,
        **figures,
    }
    recovery = figures["recovery_after_sigkill_s"]
    result["ok"] = bool(
        not lost
        and scanner.total == 0
        and any(metrics_pages)  # the /metrics scan really read a page
        and not valid_dead
        and not outputs_unaudited
        and not letters_missing
        and run.unexpected_exits == 0
        and run.orphans == 0
        and hostile_once == len(hostile)
        and (not recovery or max(recovery) <= 15.0)
        and result["duplicates_droppable_by_source_position"]
        and len(recovery) == config.kills
    )
    return result


def main(config: ChaosConfig) -> int:
    result = run_chaos(Settings(), config)
    sys.stderr.flush()
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1
