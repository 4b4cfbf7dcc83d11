"""The whole worker path over the local secured listeners: SASL_SSL (SCRAM) and mutual TLS, and the one-line
failures for a wrong password, an untrusted CA and a missing client certificate."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.devtools.services import tls
from streams.devtools.services.local import mtls_connection, sasl_ssl_connection
from streams.devtools.services.settings import LocalServicesSettings
from streams.errors import ConnectError
from streams.kafka.check import AUTHENTICATION, CLIENT_CERT, UNTRUSTED, check_kafka, check_registry
from streams.settings import ConnectionSettings, Settings
from tests.integration.registry_proxy import secured_registry
from tests.integration.support import connection_env, deployed_worker
from tests.integration.test_worker_debezium import CANARIES, contact, envelope, outputs_with_marker

pytestmark = pytest.mark.integration

WRONG_PASSWORD = "canary-wrong-password-5d1e"
REGISTRY_USER, REGISTRY_PASSWORD = "registry-user", "canary-registry-secret-77c1"


@pytest.fixture(scope="module")
def local() -> LocalServicesSettings:
    return LocalServicesSettings()


@pytest.fixture(scope="module")
def foreign_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "foreign-ca.pem"
    tls.write_authority(tls.make_authority("not the broker's CA"), path)
    return path


def secured(live_settings: Settings, conn: ConnectionSettings) -> Settings:
    # The registry stays plain here; only the Kafka connection changes.
    return live_settings.model_copy(
        update={"connection": conn.model_copy(update={"registry_url": live_settings.connection.registry_url})}
    )


@pytest.mark.parametrize("kind", ["sasl_ssl_scram_sha_512", "mtls"])
def test_the_worker_anonymizes_over_a_secured_listener(
    kind: str, live_settings: Settings, local: LocalServicesSettings, tmp_path: Path
) -> None:
    conn = sasl_ssl_connection(local, "SCRAM-SHA-512") if kind != "mtls" else mtls_connection(local)
    settings = secured(live_settings, conn)
    with deployed_worker(settings, tmp_path, extra_env=connection_env(settings.connection)) as dep:
        marker = f"secured-{os.urandom(4).hex()}"
        positions = dep.produce_avro([({"id": 31}, envelope("c", None, contact(31, marker)))])
        audits = dep.audits_for(positions, timeout_s=90)
        assert [a["outcome"] for a in audits] == ["PUBLISHED"]
        [(key, value)] = outputs_with_marker(dep, marker)
        assert key["id"].startswith("tok_") and value["after"]["email"].startswith("tok_")
        raw = b"".join((r.value or b"") + (r.key or b"") for r in dep.read(dep.output_topic))
        log = dep.log_text()
    for canary in CANARIES.values():
        assert canary.encode() not in raw
    assert local.local_sasl_password.get_secret_value().encode() not in log


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
def test_other_sasl_mechanisms_connect(mechanism: str, local: LocalServicesSettings) -> None:
    check_kafka(sasl_ssl_connection(local, mechanism), timeout_s=15)  # type: ignore[arg-type]


def test_hostname_verification_is_on_by_default(local: LocalServicesSettings) -> None:
    conn = sasl_ssl_connection(local)
    assert conn.kafka_ssl_check_hostname is True
    assert ConnectionSettings().kafka_ssl_check_hostname is True


@pytest.mark.parametrize(
    ("case", "expected"),
    [("wrong_password", AUTHENTICATION), ("untrusted_ca", UNTRUSTED), ("no_client_certificate", CLIENT_CERT)],
)
def test_misconfigured_connections_fail_fast_in_one_line(
    case: str, expected: str, local: LocalServicesSettings, foreign_ca: Path
) -> None:
    conn = {
        "wrong_password": lambda: sasl_ssl_connection(local, kafka_sasl_password=SecretStr(WRONG_PASSWORD)),
        "untrusted_ca": lambda: sasl_ssl_connection(local, kafka_ssl_ca_file=foreign_ca),
        "no_client_certificate": lambda: mtls_connection(local, kafka_ssl_cert_file=None, kafka_ssl_key_file=None),
    }[case]()
    started = time.monotonic()
    with pytest.raises(ConnectError) as caught:
        check_kafka(conn, timeout_s=30)
    assert time.monotonic() - started < 10
    assert expected in str(caught.value) and WRONG_PASSWORD not in str(caught.value)


def test_the_worker_exits_with_one_line_on_a_wrong_password(
    live_settings: Settings, local: LocalServicesSettings, tmp_path: Path
) -> None:
    conn = sasl_ssl_connection(local, kafka_sasl_password=SecretStr(WRONG_PASSWORD))
    env = {
        **os.environ,
        **connection_env(conn),
        "CRM_ANON_STATE_DIR": str(tmp_path),
        "CRM_ANON_TOKENIZATION_KEY": secrets.token_hex(32),
        "CRM_ANON_DEAD_LETTER_KEY": secrets.token_hex(32),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert elapsed < 30
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert lines == [f"Error: Kafka at {conn.kafka_bootstrap} (SASL_SSL): {AUTHENTICATION}"]
    assert WRONG_PASSWORD not in done.stdout + done.stderr


@pytest.fixture(scope="module")
def registry_over_tls(live_settings: Settings, local: LocalServicesSettings) -> Iterator[str]:
    pki = tls.Pki.under(local.services_dir.resolve() / "kafka" / "tls")
    with secured_registry(
        live_settings.connection.registry_url, pki.broker_keystore, REGISTRY_USER, REGISTRY_PASSWORD
    ) as url:
        yield url


def registry_conn(url: str, ca: Path, password: str = REGISTRY_PASSWORD) -> ConnectionSettings:
    return ConnectionSettings(
        registry_url=url,
        registry_username=REGISTRY_USER,
        registry_password=SecretStr(password),
        registry_ssl_ca_file=ca,
    )


def test_the_whole_path_over_sasl_ssl_with_a_basic_auth_tls_registry(
    live_settings: Settings, local: LocalServicesSettings, registry_over_tls: str, tmp_path: Path
) -> None:
    ca = tls.Pki.under(local.services_dir.resolve() / "kafka" / "tls").ca_cert
    conn = sasl_ssl_connection(
        local,
        "SCRAM-SHA-256",
        registry_url=registry_over_tls,
        registry_username=REGISTRY_USER,
        registry_password=SecretStr(REGISTRY_PASSWORD),
        registry_ssl_ca_file=ca,
    )
    settings = live_settings.model_copy(update={"connection": conn})
    with deployed_worker(settings, tmp_path, extra_env=connection_env(conn)) as dep:
        marker = f"registry-auth-{os.urandom(4).hex()}"
        positions = dep.produce_avro([({"id": 41}, envelope("c", None, contact(41, marker)))])
        assert [a["outcome"] for a in dep.audits_for(positions, timeout_s=90)] == ["PUBLISHED"]
        [(key, _)] = outputs_with_marker(dep, marker)
        assert key["id"].startswith("tok_")
        log = dep.log_text()
    assert REGISTRY_PASSWORD.encode() not in log


@pytest.mark.parametrize("case", ["wrong_password", "untrusted_ca"])
def test_registry_misconfiguration_is_one_line(
    case: str, local: LocalServicesSettings, registry_over_tls: str, foreign_ca: Path
) -> None:
    ca = tls.Pki.under(local.services_dir.resolve() / "kafka" / "tls").ca_cert
    check_registry(registry_conn(registry_over_tls, ca))  # the right settings pass
    conn = (
        registry_conn(registry_over_tls, ca, password=WRONG_PASSWORD)
        if case == "wrong_password"
        else registry_conn(registry_over_tls, foreign_ca)
    )
    with pytest.raises(ConnectError) as caught:
        check_registry(conn)
    message = str(caught.value)
    assert ("refused the credentials (HTTP 401" if case == "wrong_password" else "not trusted") in message
    assert WRONG_PASSWORD not in message and REGISTRY_PASSWORD not in message
