"""Settings of the local broker and registry (``crm-anonymizer services``); the worker never reads these."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    registry_port: int = Field(18081, description="Local registry HTTP port (CRM_ANON_REGISTRY_PORT).")
    registry_management_port: int = Field(
        19000, description="Local registry Quarkus management port (CRM_ANON_REGISTRY_MANAGEMENT_PORT)."
    )
