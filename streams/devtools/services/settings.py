"""Settings of the local broker and registry (``crm-anonymizer services``); the worker never reads these."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.settings import ENV_PREFIX, REPO_ROOT


class LocalServicesSettings(BaseSettings):
    """Ports and data directory of the single-node Kafka (KRaft) broker and the Apicurio registry."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    services_dir: Path = Field(
        REPO_ROOT / ".local", description="Local services data, logs and pids (CRM_ANON_SERVICES_DIR)."
    )
    kafka_port: int = Field(19092, description="Local broker port (CRM_ANON_KAFKA_PORT).")
    kafka_controller_port: int = Field(
        19093, description="Local KRaft controller port (CRM_ANON_KAFKA_CONTROLLER_PORT)."
    )
    kafka_sasl_port: int | None = Field(
        None,
        description="Local SASL_SSL listener port (SCRAM-SHA-256/512 and PLAIN); empty: the broker port + 2 "
        "(CRM_ANON_KAFKA_SASL_PORT).",
    )
    kafka_ssl_port: int | None = Field(
        None,
        description="Local SSL listener port that requires a client certificate (mutual TLS); empty: the broker "
        "port + 3 (CRM_ANON_KAFKA_SSL_PORT).",
    )
    local_sasl_username: str = Field(
        "crm-anon", description="User created on the local SASL listener (CRM_ANON_LOCAL_SASL_USERNAME)."
    )
    local_sasl_password: SecretStr = Field(
        SecretStr("crm-anon-local-only"),
        description="Password of that user; for local development only (CRM_ANON_LOCAL_SASL_PASSWORD).",
    )
    registry_port: int = Field(18081, description="Local registry HTTP port (CRM_ANON_REGISTRY_PORT).")
    registry_management_port: int = Field(
        19000, description="Local registry Quarkus management port (CRM_ANON_REGISTRY_MANAGEMENT_PORT)."
    )

    @property
    def sasl_port(self) -> int:
        return self.kafka_sasl_port if self.kafka_sasl_port is not None else self.kafka_port + 2

    @property
    def ssl_port(self) -> int:
        return self.kafka_ssl_port if self.kafka_ssl_port is not None else self.kafka_port + 3
