"""The ``crm-anonymizer`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from streams.settings import get_settings


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
    from streams import logging as app_logging
    from streams.kafka_admin import ensure_topics
    from streams.policy.loader import load_policy

    settings = get_settings()
    if policy_path is not None:
        settings = settings.model_copy(update={"policy_file": policy_path})
    app_logging.configure(settings.log_level, settings.log_format)
    loaded = load_policy(settings.policy_file)
    outputs = [s.output_topic for s in loaded.policy.sources]
    ensure_topics(
        settings.kafka_bootstrap,
        [*outputs, settings.audit_topic, settings.dead_letter_topic],
        settings.topic_partitions,
    )
    ensure_topics(settings.kafka_bootstrap, [s.topic for s in loaded.policy.sources], settings.topic_partitions)

    import faust

    from streams.processor.app import create_app

    app = create_app(settings, loaded)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


@main.command()
@click.option("-n", "--count", default=10_000, show_default=True, help="Number of CDC events.")
@click.option("--seed", default=7, show_default=True, help="Faker seed (synthetic data only).")
def generate(count: int, seed: int) -> None:
    """Produce synthetic Debezium CRM events (contacts, accounts) to the source topics."""
    from streams.generator.debezium import CrmCdcGenerator
    from streams.generator.producer import TOPICS, CdcProducer
    from streams.kafka_admin import ensure_topics

    settings = get_settings()
    ensure_topics(settings.kafka_bootstrap, TOPICS, settings.topic_partitions)
    producer = CdcProducer(settings.kafka_bootstrap, settings.registry_url)
    produced = producer.produce(CrmCdcGenerator(seed).events(count))
    producer.flush()
    click.echo(json.dumps({"events_produced": produced}))


@main.group()
def services() -> None:
    """Local Kafka broker and schema registry (no Docker needed)."""


@services.command("up")
def services_up() -> None:
    from streams.services import local

    local.up(get_settings())
    click.echo(json.dumps(local.status(get_settings())))


@services.command("down")
def services_down() -> None:
    from streams.services import local

    local.down(get_settings())
    click.echo(json.dumps(local.status(get_settings())))


@services.command("status")
def services_status() -> None:
    from streams.services import local

    status = local.status(get_settings())
    click.echo(json.dumps(status))


@main.command()
@click.option("-n", "--count", default=10_000, show_default=True, help="Number of CDC events.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for the worker.")
def demo(count: int, timeout: float) -> None:
    """Start services, generate traffic, anonymize it, print what happened (last line: JSON)."""
    from streams.demo import run_demo

    sys.exit(run_demo(get_settings(), count, timeout))


if __name__ == "__main__":
    main()
