"""The ``crm-anonymizer`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from streams.settings import ConnectionSettings, Settings, get_settings

if TYPE_CHECKING:
    from streams.policy.loader import LoadedPolicy


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Streaming anonymizer for CRM change-data-capture topics."""


@main.command()
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy file (default: CRM_ANON_POLICY_FILE).",
)
def worker(policy_path: Path | None) -> None:
    """Run the anonymizing stream processor until interrupted."""
    from pydantic import ValidationError

    from streams import logging as app_logging
    from streams.kafka.admin import ensure_topics
    from streams.policy.loader import load_policy
    from streams.settings import describe_validation_error

    try:
        settings = get_settings()
    except ValidationError as exc:  # a bad setting: one line naming it, never its value
        raise click.ClickException(describe_validation_error(exc)) from None
    if policy_path is not None:
        settings = settings.model_copy(update={"policy_file": policy_path})
    app_logging.configure(settings.log_level, settings.log_format)
    loaded = load_policy(settings.policy_file)
    from streams.keys import keyring_from_settings, parse_key

    try:  # configuration errors as one clear line (never the key), not a traceback
        keyring_from_settings(settings)
        parse_key(settings.dead_letter_key, "CRM_ANON_DEAD_LETTER_KEY")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _check_connection(settings.connection)
    from streams.kafka.admin import topic_durability

    try:
        replication, topic_config = topic_durability(settings, durable=True)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _preflight(settings, loaded)
    from streams.envelope.metadata import kafka_timestamp_action
    from streams.errors import KafkaAdminError
    from streams.kafka.retention import created_topic_config, output_topic_problems

    backdates: dict[str, float] = {}  # output topic -> how far its records' timestamps lie in the past
    for source in loaded.policy.sources:
        age = kafka_timestamp_action(source).backdates_s()
        backdates[source.output_topic] = max(age, backdates.get(source.output_topic, 0.0))
    for topic, age in backdates.items():
        ensure_topics(
            settings.connection,
            [topic],
            settings.topic_partitions,
            {**topic_config, **created_topic_config(age, settings.output_retention_ms)},
            replication_factor=replication,
        )
    ensure_topics(
        settings.connection,
        [settings.audit_topic, settings.dead_letter_topic],
        settings.topic_partitions,
        topic_config,
        replication_factor=replication,
    )
    try:
        problems = output_topic_problems(settings.connection, backdates, settings.output_retention_ms)
    except KafkaAdminError as exc:
        raise click.ClickException(str(exc)) from None
    if problems:
        raise click.ClickException("; ".join(p.message() for p in problems))
    ensure_topics(
        settings.connection,
        [s.topic for s in loaded.policy.sources],
        settings.topic_partitions,
        topic_config,
        replication_factor=replication,
    )

    import faust

    from streams.errors import ConfigError
    from streams.processor.app import create_app
    from streams.processor.gc_policy import freeze_start_up_objects

    if settings.event_loop == "uvloop":
        import mode.loop

        mode.loop.use("uvloop")  # before the app and its services take a loop
    try:
        app = create_app(settings, loaded)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    freeze_start_up_objects()  # as in the pipeline process; the heartbeat runs the full collections
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


def _check_connection(conn: ConnectionSettings, *, registry: bool = True, remind_s: float = 30.0) -> None:
    """Wrong credentials or an untrusted certificate: one clear line and exit, not a client retry loop. A broker
    or registry that does not answer is waited for (a transient outage stalls, it never fails the start-up):
    logged once, then every ``remind_s``."""
    import time

    import structlog

    from streams.errors import ConnectError
    from streams.kafka.check import check_kafka, check_registry
    from streams.kafka.config import registry_probe_client

    log = structlog.get_logger("streams.connect")
    since: float | None = None
    reminded = 0.0
    # One client for the whole wait: a registry outage at start-up retries every second.
    with registry_probe_client(conn, conn.registry_timeout_s) as probe:
        while True:
            try:
                check_kafka(conn)
                if registry:
                    check_registry(conn, client=probe)
                if since is not None:
                    log.info("dependency_answering", waited_s=round(time.monotonic() - since, 1))
                return
            except ConnectError as exc:
                if not exc.transient:
                    raise click.ClickException(str(exc)) from None
                now = time.monotonic()
                if since is None:
                    since, reminded = now, now
                    log.warning("dependency_not_answering", detail=str(exc))
                elif now - reminded >= remind_s:
                    reminded = now
                    log.warning("dependency_still_not_answering", detail=str(exc), waited_s=round(now - since, 1))
                time.sleep(1.0)


def _preflight(settings: Settings, loaded: LoadedPolicy) -> None:
    """Lint the policy against the live registry; refuse to start on findings that would break publishing."""
    import structlog

    from streams.kafka.registry import RegistrySchemas
    from streams.keys import keyring_from_settings
    from streams.policy.lint import BLOCKING_AT_START, lint_policy

    log = structlog.get_logger("streams.preflight")
    report = lint_policy(loaded, RegistrySchemas(settings.connection), keyring_from_settings(settings))
    for finding in report.findings:
        log.warning(
            "policy_finding", code=finding.code, source=finding.source, path=finding.path, detail=finding.message
        )
    blocking = [f for f in report.findings if f.code in BLOCKING_AT_START]
    if blocking:
        log.error(
            "refusing_to_start",
            reason="the policy cannot be compiled as configured, or breaks a registered output schema",
            findings=len(blocking),
        )
        sys.exit(2)


@main.command()
@click.option("-n", "--count", default=10_000, show_default=True, help="Number of CDC events.")
@click.option("--seed", default=7, show_default=True, help="Faker seed (synthetic data only).")
@click.option(
    "--source",
    type=click.Choice(["debezium", "salesforce", "all"]),
    default="debezium",
    show_default=True,
    help="Debezium contacts/accounts, Salesforce Contact/Account change events, or both (4:1).",
)
def generate(count: int, seed: int, source: str) -> None:
    """Produce synthetic CRM change events to the source topics, through the registry (AvroSerializer)."""
    from streams.devtools.generator.debezium import CdcEvent, CrmCdcGenerator
    from streams.devtools.generator.producer import TOPICS, CdcProducer
    from streams.devtools.generator.salesforce import TOPICS as SFDC_TOPICS
    from streams.devtools.generator.salesforce import SalesforceCdcGenerator
    from streams.kafka.admin import ensure_topics

    settings = get_settings()
    _check_connection(settings.connection)
    sfdc_count = {"debezium": 0, "salesforce": count, "all": count // 5}[source]
    events: list[CdcEvent] = [
        *CrmCdcGenerator(seed).events(count - sfdc_count),
        *SalesforceCdcGenerator(seed).events(sfdc_count),
    ]
    from streams.kafka.admin import topic_durability

    replication, topic_config = topic_durability(settings)
    ensure_topics(
        settings.connection,
        {e.topic for e in events} or set(TOPICS) | set(SFDC_TOPICS),
        settings.topic_partitions,
        topic_config,
        replication_factor=replication,
    )
    from streams.devtools.progress import tracked

    producer = CdcProducer(settings.connection)
    produced = producer.produce(tracked(events, len(events), "producing"))
    producer.flush()
    click.echo(json.dumps({"events_produced": produced}))


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the README's configuration tables.")
@click.option(
    "--update-readme",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Rewrite the generated tables in this README.",
)
def settings_command(markdown: bool, update_readme: Path | None) -> None:
    """Every setting: its environment variable, default and meaning (from the settings models)."""
    from streams.devtools.settings_doc import markdown_tables
    from streams.devtools.settings_doc import update_readme as rewrite

    if update_readme is not None:
        click.echo("updated" if rewrite(update_readme) else "up to date")
    elif markdown:
        click.echo(markdown_tables(), nl=False)
    else:
        raise click.UsageError("give --markdown or --update-readme README.md")


@main.group()
def services() -> None:
    """Local Kafka broker and schema registry (no Docker needed)."""


@services.command("up")
def services_up() -> None:
    from streams.devtools.services import local
    from streams.devtools.services.settings import LocalServicesSettings

    local.up(LocalServicesSettings())
    click.echo(json.dumps(local.status(LocalServicesSettings())))


@services.command("down")
def services_down() -> None:
    from streams.devtools.services import local
    from streams.devtools.services.settings import LocalServicesSettings

    local.down(LocalServicesSettings())
    click.echo(json.dumps(local.status(LocalServicesSettings())))


@services.command("status")
def services_status() -> None:
    from streams.devtools.services import local
    from streams.devtools.services.settings import LocalServicesSettings

    status = local.status(LocalServicesSettings())
    click.echo(json.dumps(status))


def _registry_at(url: str) -> ConnectionSettings:
    """The configured connection (credentials, TLS) pointed at another registry URL."""
    return get_settings().connection.model_copy(update={"registry_url": url})


@main.group()
def policy() -> None:
    """Policy files: lint them in CI, start one from a schema."""


@policy.command("lint")
@click.argument("policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--schemas",
    "schema_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of .avsc files named by subject (<topic>-value.avsc, <topic>-key.avsc, ...).",
)
@click.option("--registry", "registry_url", help="Read the latest schemas of the subjects from this registry.")
@click.option(
    "--key-id",
    "key_ids",
    multiple=True,
    help="Configured key ids (default: CRM_ANON_TOKENIZATION_KEY_ID and CRM_ANON_ENCRYPTION_KEY_ID).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--risk", is_flag=True, help="Also run the risk evaluation on a sample; fail above policy.risk.")
@click.option("--risk-sample", default=20000, show_default=True, help="Population size for --risk.")
def policy_lint(
    policy_path: Path,
    schema_dir: Path | None,
    registry_url: str | None,
    key_ids: tuple[str, ...],
    as_json: bool,
    risk: bool,
    risk_sample: int,
) -> None:
    """Check POLICY_PATH against schemas; exit 1 on any error."""
    from streams.errors import PolicyError
    from streams.kafka.registry import RegistrySchemas
    from streams.policy.lint import (
        DirectorySchemas,
        SubjectSchemas,
        lint_keyring,
        lint_policy,
        render_text,
    )
    from streams.policy.loader import load_policy

    if (schema_dir is None) == (registry_url is None):
        raise click.UsageError("give exactly one of --schemas DIR or --registry URL")
    settings = get_settings()
    try:
        loaded = load_policy(policy_path)
    except PolicyError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "findings": [{"level": "error", "message": str(exc)}]}))
        else:
            click.echo(f"ERROR: {exc}", err=True)
        sys.exit(1)
    schemas: SubjectSchemas = (
        DirectorySchemas(schema_dir) if schema_dir else RegistrySchemas(_registry_at(str(registry_url)))
    )
    ids = key_ids or (settings.tokenization_key_id, settings.encryption_key_id)
    report = lint_policy(loaded, schemas, lint_keyring(ids, settings.encryption_key_id))
    # The evaluation needs policies that compile; other findings (a time exposure, ...) do not stop it.
    if risk and not any(f.code in ("policy_schema", "missing_schema") for f in report.findings):
        from streams.policy.lint import add_risk_findings

        add_risk_findings(report, _run_evaluation(policy_path, risk_sample))
    click.echo(report.to_json() if as_json else render_text(report))
    sys.exit(0 if report.ok else 1)


def _risk_population(sample: int, topics: tuple[str, ...], limit: int | None) -> Any:
    from streams.devtools.generator.population import generated

    if not topics:
        return generated(sample)
    from streams.kafka.config import registry_client
    from streams.kafka.reader import read_topic
    from streams.ports import RawRecord
    from streams.risk.population import Population

    settings = get_settings()
    population = Population(description=f"snapshot of {', '.join(topics)}")
    registry = registry_client(settings.connection)
    writers: dict[int, Any] = {}
    from streams.devtools.progress import tracked

    for topic in topics:
        snapshot = read_topic(settings.connection, topic)[:limit]
        for rec in tracked(snapshot, len(snapshot), f"reading {topic}"):
            for frame in (rec.key, rec.value):
                if frame and len(frame) > 5:
                    writers.setdefault(int.from_bytes(frame[1:5], "big"), None)
            population.records.append(
                RawRecord(rec.topic, rec.partition, rec.offset, rec.timestamp_ms, rec.key, rec.value, rec.headers)
            )
    for schema_id in writers:  # writer schemas only: derived output schemas stay in memory, never registered
        population.schemas.add_with_id(schema_id, json.loads(registry.get_schema(schema_id).schema_str or "null"))
    return population


def _run_evaluation(policy_path: Path, sample: int, topics: tuple[str, ...] = (), limit: int | None = None) -> Any:
    import logging

    import structlog

    from streams.policy.loader import load_policy
    from streams.risk.evaluate import evaluate
    from streams.risk.simulate import throwaway_keyring

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    settings = get_settings()
    loaded = load_policy(policy_path)
    keyring = throwaway_keyring((settings.tokenization_key_id, settings.encryption_key_id), settings.encryption_key_id)
    return evaluate(loaded, keyring, _risk_population(sample, topics, limit))


@main.command()
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy file to evaluate.",
)
@click.option("--sample", default=20000, show_default=True, help="Size of the generator's population.")
@click.option("--topic", "topics", multiple=True, help="Evaluate on a snapshot of this source topic instead.")
@click.option("--limit", type=int, help="At most this many records per --topic.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def evaluate(policy_path: Path, sample: int, topics: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """Re-identification risk and utility of a policy's output (README "Risk evaluation"); exit 1 above the
    policy's risk thresholds."""
    from streams.risk.evaluate import render_text

    result = _run_evaluation(policy_path, sample, topics, limit)
    click.echo(result.to_json() if as_json else render_text(result))
    sys.exit(0 if not result.failures() else 1)


@policy.command("init")
@click.option("--subject", help="Registry subject of the input value schema (<topic>-value).")
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Local .avsc file of the input value schema.",
)
@click.option("--topic", help="Source topic (default: the subject without -value, or the file name).")
@click.option("--registry", "registry_url", help="Registry URL (default: CRM_ANON_REGISTRY_URL).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def policy_init(
    subject: str | None, schema_file: Path | None, topic: str | None, registry_url: str | None, output: Path | None
) -> None:
    """Write a starter policy from a schema, with a reason beside every guess."""
    from streams.kafka.registry import RegistrySchemas
    from streams.policy.starter import starter_policy

    if (subject is None) == (schema_file is None):
        raise click.UsageError("give exactly one of --subject S or --schema FILE")
    if schema_file is not None:
        schema = json.loads(schema_file.read_text())
        topic = topic or schema_file.name.removesuffix(".avsc").removesuffix("-value")
    else:
        assert subject is not None
        conn = _registry_at(registry_url) if registry_url else get_settings().connection
        schema = RegistrySchemas(conn).get(subject)
        if schema is None:
            raise click.ClickException(f"subject {subject} not found")
        topic = topic or subject.removesuffix("-value")
    try:
        text = starter_policy(schema, topic)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if output:
        output.write_text(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("-n", "--count", default=10_000, show_default=True, help="Number of CDC events.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for the worker.")
def demo(count: int, timeout: float) -> None:
    """Start services, generate traffic, anonymize it, print what happened (last line: JSON)."""
    from streams.devtools.demo import run_demo

    sys.exit(run_demo(get_settings(), count, timeout))


@main.command()
@click.option(
    "--url", help="The worker's metrics endpoint (default: http://CRM_ANON_METRICS_BIND:CRM_ANON_METRICS_PORT)."
)
@click.option("--interval", default=2.0, show_default=True, help="Seconds between the two scrapes that give rates.")
@click.option("--watch", is_flag=True, help="Refresh until interrupted.")
def status(url: str | None, interval: float, watch: bool) -> None:
    """Lag per partition, throughput, dead letters, budget and k-suppression counts of a running worker."""
    import time

    import httpx
    from rich.console import Console
    from rich.live import Live

    from streams import status as view

    settings = get_settings()
    wildcard = settings.metrics_bind in ("0.0.0.0", "::")  # noqa: S104  (a comparison, not a bind)
    host = "127.0.0.1" if wildcard else settings.metrics_bind
    base = url or f"http://{host}:{settings.metrics_port}"
    console = Console()

    def snapshot() -> object:
        before = view.fetch(base)
        time.sleep(interval)
        after = view.fetch(base)
        ready = httpx.get(f"{base}/readyz", timeout=5, trust_env=False).json()
        return view.render(view.summarize(before, after, interval), base, ready)

    try:
        if not watch:
            console.print(snapshot())
            return
        with Live(console=console, auto_refresh=False) as live:
            while True:
                live.update(snapshot(), refresh=True)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise click.ClickException(f"no worker metrics at {base} ({type(exc).__name__})") from None
    except KeyboardInterrupt:
        return


@main.command()
@click.option("--topic", required=True, help="Anonymized (output) topic holding the record.")
@click.option("--partition", type=int, default=0, show_default=True, help="Partition of the record.")
@click.option("--offset", type=int, required=True, help="Offset of the record.")
@click.option(
    "--field", "field_path", required=True, help="Encrypted field: after.email, before.email, email or key.id."
)
@click.option("--actor", required=True, help="Who re-identifies (recorded in the audit event).")
@click.option(
    "--key-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of 'key id=hex key' lines (never read from the environment).",
)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for Kafka.")
def reidentify(
    topic: str, partition: int, offset: int, field_path: str, actor: str, key_file: Path, timeout: float
) -> None:
    """Decrypt one encrypted field of one anonymized record; audited (REIDENTIFICATION) before it is printed.

    The plaintext goes to stdout only (bytes as hex). Any failure exits non-zero without printing a value; a
    failed decryption is audited with reason_code reidentify.failed.
    """
    from confluent_kafka import Producer

    from streams import reidentify as reid
    from streams.kafka.admin import ensure_topics
    from streams.kafka.config import librdkafka_config, registry_client

    settings = get_settings()
    try:
        if not actor.strip():
            raise reid.ReidentifyError("--actor must name who re-identifies")
        keys = reid.load_key_file(key_file)
        registry = registry_client(settings.connection)
        record = reid.fetch_record(settings.connection, registry, topic, partition, offset, timeout)
        from streams.kafka.admin import topic_durability

        replication, topic_config = topic_durability(settings, durable=True)
        ensure_topics(
            settings.connection,
            [settings.audit_topic],
            settings.topic_partitions,
            topic_config,
            replication_factor=replication,
        )
        producer = Producer(librdkafka_config(settings.connection, **{"acks": "all", "enable.idempotence": True}))
        plaintext = reid.reidentify(
            record,
            field_path,
            keys,
            actor,
            producer=producer,
            registry=registry,
            audit_topic=settings.audit_topic,
        )
    except reid.ReidentifyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(reid.format_plaintext(plaintext))


@main.group()
def deadletter() -> None:
    """Dead letters: list them, replay them through the current policy (after fixing it)."""


def _letter_filters(fn: Any) -> Any:
    fn = click.option("--until", type=click.DateTime(), help="Failed before this time (UTC).")(fn)
    fn = click.option("--since", type=click.DateTime(), help="Failed at or after this time (UTC).")(fn)
    fn = click.option("--source", help="Source topic of the records.")(fn)
    return click.option("--reason", help="Reason code, e.g. policy.schema_mismatch.")(fn)


def _selected_letters(
    settings: Settings, reason: str | None, source: str | None, since: Any, until: Any
) -> list[dict[str, Any]]:
    from datetime import UTC

    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from streams.kafka.config import registry_client
    from streams.kafka.reader import read_topic
    from streams.replay import LetterFilter, latest_letters

    deserialize = AvroDeserializer(registry_client(settings.connection))
    letters = [
        deserialize(r.value, SerializationContext(r.topic, MessageField.VALUE))
        for r in read_topic(settings.connection, settings.dead_letter_topic)
        if r.value is not None
    ]

    def utc(moment: Any) -> Any:
        return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment

    return latest_letters(letters, LetterFilter(reason, source, utc(since), utc(until)))


@deadletter.command("list")
@_letter_filters
def deadletter_list(reason: str | None, source: str | None, since: Any, until: Any) -> None:
    """One JSON line per dead letter (the latest per source position): position, reason, time; no values."""
    from streams.replay import summary_line

    for letter in _selected_letters(get_settings(), reason, source, since, until):
        click.echo(summary_line(letter))


@deadletter.command("replay")
@_letter_filters
def deadletter_replay(reason: str | None, source: str | None, since: Any, until: Any) -> None:
    """Open the selected dead letters, run them through the current policy, publish, audit as REPLAYED.

    Positions that already have a PUBLISHED or REPLAYED audit are skipped: replaying twice publishes once.
    Last line JSON."""
    import asyncio

    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from streams.deadletter import DeadLetterSealer
    from streams.kafka.config import registry_client
    from streams.kafka.reader import read_topic
    from streams.keys import parse_key
    from streams.policy.loader import load_policy
    from streams.ports import BatchStats
    from streams.processor.compose import build_pipeline, kafka_sink
    from streams.replay import plan_replay

    settings = get_settings()
    try:
        sealer = DeadLetterSealer(
            parse_key(settings.dead_letter_key, "CRM_ANON_DEAD_LETTER_KEY"), settings.dead_letter_key_id
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    letters = _selected_letters(settings, reason, source, since, until)
    deserialize = AvroDeserializer(registry_client(settings.connection))
    audits = [
        deserialize(r.value, SerializationContext(r.topic, MessageField.VALUE))
        for r in read_topic(settings.connection, settings.audit_topic)
        if r.value is not None
    ]
    plan = plan_replay(letters, audits, sealer)
    pipeline = build_pipeline(
        settings, load_policy(settings.policy_file), kafka_sink(settings), published_outcome="REPLAYED"
    )
    totals = BatchStats()

    async def replay_all() -> None:
        from streams.devtools.progress import tracked

        starts = range(0, len(plan.records), settings.batch_size)
        for start in tracked(starts, len(starts), "replaying"):
            stats = await pipeline.process(plan.records[start : start + settings.batch_size])
            totals.published += stats.published
            totals.dead_lettered += stats.dead_lettered

    try:
        asyncio.run(replay_all())
    finally:
        pipeline.close()
    click.echo(
        json.dumps(
            {
                "selected": len(letters),
                "replayed": totals.published,
                "dead_lettered_again": totals.dead_lettered,
                "already_published": len(plan.already_published),
                "unrecoverable": plan.unrecoverable,
            }
        )
    )


@main.command()
@click.option("--events", default=30_000, show_default=True, help="Valid change events with known identifiers.")
@click.option("--kills", default=3, show_default=True, help="SIGKILLs of the worker mid-stream.")
@click.option("--broker-restart/--no-broker-restart", default=True, show_default=True)
@click.option("--registry-stall", default=30.0, show_default=True, help="Seconds the registry is SIGSTOPped.")
@click.option("--hostile", default=1_200, show_default=True, help="Distinct hostile records.")
@click.option("--timeout", default=1_200.0, show_default=True, help="Overall deadline, s.")
def chaos(events: int, kills: int, broker_restart: bool, registry_stall: float, hostile: int, timeout: float) -> None:
    """Faults and hostile input on the local services; every input position accounted for (last line JSON)."""
    from streams.devtools import chaos as chaos_suite

    config = chaos_suite.ChaosConfig(events, kills, broker_restart, registry_stall, hostile, timeout)
    sys.exit(chaos_suite.main(config))


if __name__ == "__main__":
    main()
