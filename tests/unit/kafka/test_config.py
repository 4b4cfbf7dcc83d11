"""Every client gets the same security from ConnectionSettings; secrets never reach an error or a repr."""

from __future__ import annotations

import ssl

import faust
import pytest
from pydantic import SecretStr, ValidationError

from streams.devtools.services import tls
from streams.kafka.config import (
    faust_broker_config,
    kafka_ssl_context,
    librdkafka_config,
    redacted,
    registry_client,
    registry_config,
    registry_http_options,
)
from streams.settings import ConnectionSettings, describe_validation_error

SECRET = "canary-secret-9f2c"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tls.Pki:
    return tls.ensure_local_pki(tmp_path_factory.mktemp("pki"))


def test_plaintext_adds_no_security_settings() -> None:
    config = librdkafka_config(ConnectionSettings(kafka_bootstrap="b:1"))
    assert config["bootstrap.servers"] == "b:1"
    assert not [k for k in config if k.startswith(("security.", "sasl.", "ssl."))]
    assert set(config) == {"bootstrap.servers", "logger"}  # the logger: librdkafka's lines, rate-limited
    assert faust_broker_config(ConnectionSettings(kafka_bootstrap="b:1")) == {"broker": "kafka://b:1"}
    registry = registry_config(ConnectionSettings(registry_url="http://r"))
    assert registry == {"url": "http://r", "timeout": 10.0, "max.retries": 0}  # no auth, no TLS settings


def test_sasl_ssl_scram_for_librdkafka_and_faust(pki: tls.Pki) -> None:
    conn = ConnectionSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="svc",
        kafka_sasl_password=SecretStr(SECRET),
        kafka_ssl_ca_file=pki.ca_cert,
    )
    config = librdkafka_config(conn, **{"acks": "all"})
    assert config["security.protocol"] == "SASL_SSL" and config["sasl.mechanism"] == "SCRAM-SHA-256"
    assert config["sasl.username"] == "svc" and config["sasl.password"] == SECRET
    assert config["ssl.ca.location"] == str(pki.ca_cert)
    assert config["ssl.endpoint.identification.algorithm"] == "https"  # hostname verification by default
    assert SECRET not in str(redacted(config)) and redacted(config)["sasl.username"] == "svc"

    credentials = faust_broker_config(conn)["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-256"
    assert credentials.ssl_context is not None and credentials.ssl_context.check_hostname
    assert SECRET not in repr(credentials) and SECRET not in repr(conn) and SECRET not in str(conn)


def test_mutual_tls(pki: tls.Pki) -> None:
    conn = ConnectionSettings(
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=pki.ca_cert,
        kafka_ssl_cert_file=pki.client_cert,
        kafka_ssl_key_file=pki.client_key,
        kafka_ssl_check_hostname=False,
    )
    config = librdkafka_config(conn)
    assert config["ssl.certificate.location"] == str(pki.client_cert)
    assert config["ssl.key.location"] == str(pki.client_key)
    assert config["ssl.endpoint.identification.algorithm"] == "none"
    assert "sasl.mechanism" not in config
    context = kafka_ssl_context(conn)
    assert context.verify_mode == ssl.CERT_REQUIRED and not context.check_hostname  # the chain is still checked
    credentials = faust_broker_config(conn)["broker_credentials"]
    assert isinstance(credentials, faust.SSLCredentials)


def test_registry_basic_auth_and_tls(pki: tls.Pki) -> None:
    conn = ConnectionSettings(
        registry_url="https://registry.example:8081",
        registry_username="key",
        registry_password=SecretStr(SECRET),
        registry_ssl_ca_file=pki.ca_cert,
        registry_ssl_cert_file=pki.client_cert,
        registry_ssl_key_file=pki.client_key,
    )
    config = registry_config(conn)
    assert config["basic.auth.user.info"] == f"key:{SECRET}"
    assert config["ssl.ca.location"] == str(pki.ca_cert) and config["ssl.key.location"] == str(pki.client_key)
    assert SECRET not in str(redacted(config))
    registry_client(conn)  # the client accepts every key we build
    options = registry_http_options(conn)
    assert options["auth"] == ("key", SECRET) and isinstance(options["verify"], ssl.SSLContext)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"}, "CRM_ANON_KAFKA_SASL_PASSWORD"),
        ({"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_password": SECRET}, "CRM_ANON_KAFKA_SASL_USERNAME"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cert_file": "CERT"}, "CRM_ANON_KAFKA_SSL_KEY_FILE"),
        ({"kafka_ssl_ca_file": "CA"}, "does not use TLS"),
        ({"registry_username": "u"}, "CRM_ANON_REGISTRY_PASSWORD"),
        ({"registry_password": SECRET}, "CRM_ANON_REGISTRY_USERNAME"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_ca_file": "/nonexistent/ca.pem"}, "does not exist"),
        ({"kafka_security_protocol": "KERBEROS", "kafka_sasl_password": SECRET}, "kafka_security_protocol"),
    ],
)
def test_inconsistent_settings_are_refused_without_quoting_secrets(
    fields: dict[str, str], named: str, pki: tls.Pki
) -> None:
    resolved = {
        k: (str(pki.client_cert) if v == "CERT" else str(pki.ca_cert) if v == "CA" else v) for k, v in fields.items()
    }
    with pytest.raises(ValidationError) as caught:
        ConnectionSettings(**resolved)  # type: ignore[arg-type]
    line = describe_validation_error(caught.value)
    assert named in line
    assert SECRET not in line and SECRET not in str(caught.value)


def test_empty_tls_paths_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ANON_KAFKA_SSL_CA_FILE", "")
    assert ConnectionSettings().kafka_ssl_ca_file is None
