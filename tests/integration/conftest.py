"""Integration fixtures: the real broker and registry must answer, or the test fails (never skips)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streams.kafka.config import admin_client
from streams.settings import Settings
from tests.integration.support import Deployment, deployed_worker

# The integration suite runs on the single-broker local services: topics with replication factor 1 are
# allowed there only by this explicit flag (workers started by the tests inherit it).
os.environ.setdefault("CRM_ANON_LOCAL_SERVICES", "1")


@pytest.fixture(scope="session")
def live_settings() -> Settings:
    settings = Settings()
    try:
        admin_client(settings.connection, **{"socket.timeout.ms": 5000}).list_topics(timeout=10)
    except Exception as exc:
        pytest.fail(
            f"Kafka at {settings.connection.kafka_bootstrap} does not answer ({exc}); run `make test` "
            "or `crm-anonymizer services up`"
        )
    try:
        httpx.get(f"{settings.connection.registry_url}/subjects", timeout=10).raise_for_status()
    except Exception as exc:
        pytest.fail(f"schema registry at {settings.connection.registry_url} does not answer ({exc})")
    return settings


@pytest.fixture(scope="module")
def contacts_worker(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp: Path = tmp_path_factory.mktemp("worker")
    with deployed_worker(live_settings, tmp) as deployment:
        yield deployment
