"""Validated settings, one model per concern; every field reads an environment variable (prefix ``CRM_ANON_``).

- :class:`ConnectionSettings`: how every Kafka and registry client connects (``streams.kafka.config`` is the
  only place that turns it into client configuration).
- :class:`Settings`: the worker and the commands that use the pipeline (policy, keys, topics, batching).
- ``streams.devtools.services.settings.LocalServicesSettings``: ports and data of the local broker/registry.

The README's configuration table is generated from these models (``crm-anonymizer settings --markdown``) and
a test checks that the two agree.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where schemas/ and policies/ live: the source checkout, or, for an installed wheel, the data files that
# pyproject.toml installs under <prefix>/share/crm-anonymizer.
INSTALLED_DATA = Path(sys.prefix) / "share" / "crm-anonymizer"
DATA_ROOT = REPO_ROOT if (REPO_ROOT / "schemas").is_dir() else INSTALLED_DATA
SCHEMA_DIR = DATA_ROOT / "schemas"


ENV_PREFIX = "CRM_ANON_"


class ConnectionSettings(BaseSettings):
    """Where the broker and the registry are. Defaults fit the local services (``crm-anonymizer services up``)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers (CRM_ANON_KAFKA_BOOTSTRAP).")
    registry_url: str = Field(
        "http://127.0.0.1:18081/apis/ccompat/v7",
        description="Confluent-compatible schema registry URL (CRM_ANON_REGISTRY_URL).",
    )
    registry_timeout_s: float = Field(
        10.0, gt=0, description="Timeout of one schema registry request, s (CRM_ANON_REGISTRY_TIMEOUT_S)."
    )


class Settings(BaseSettings):
    """The worker's configuration. Defaults fit the local services that ``crm-anonymizer services up`` starts."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    connection: ConnectionSettings = Field(
        default_factory=ConnectionSettings, description="Broker and registry connection (its own variables)."
    )
    policy_file: Path = Field(
        DATA_ROOT / "policies" / "crm.yaml", description="Anonymization policy file (CRM_ANON_POLICY_FILE)."
    )
    tokenization_key: SecretStr = Field(
        SecretStr(""),
        description="Hex or base64 HMAC key for tokenize (CRM_ANON_TOKENIZATION_KEY); required by the worker.",
    )
    tokenization_key_id: str = Field("k1", description="Key id written into tokens (CRM_ANON_TOKENIZATION_KEY_ID).")
    encryption_key: SecretStr = Field(
        SecretStr(""),
        description="Hex or base64 key (>= 32 bytes; per-mode keys are derived with HKDF) for the encrypt transform "
        "(CRM_ANON_ENCRYPTION_KEY); needed only when the policy encrypts.",
    )
    encryption_key_id: str = Field("e1", description="Id of the encryption key (CRM_ANON_ENCRYPTION_KEY_ID).")
    dead_letter_key: SecretStr = Field(
        SecretStr(""),
        description="Hex or base64 AES-256 key sealing raw records in dead letters (CRM_ANON_DEAD_LETTER_KEY).",
    )
    dead_letter_key_id: str = Field("dlq1", description="Id of the dead-letter key (CRM_ANON_DEAD_LETTER_KEY_ID).")
    audit_topic: str = Field("crm.audit", description="Audit topic (CRM_ANON_AUDIT_TOPIC).")
    dead_letter_topic: str = Field("crm.deadletter", description="Dead-letter topic (CRM_ANON_DEAD_LETTER_TOPIC).")
    app_id: str = Field("crm-anonymizer", description="Faust app id / consumer group (CRM_ANON_APP_ID).")
    batch_size: int = Field(500, ge=1, description="Max events per micro-batch (CRM_ANON_BATCH_SIZE).")
    batch_window_ms: int = Field(5, ge=1, description="Max wait to fill a micro-batch, ms (CRM_ANON_BATCH_WINDOW_MS).")
    topic_partitions: int = Field(
        3, ge=1, description="Partitions for topics the processor creates (CRM_ANON_TOPIC_PARTITIONS)."
    )
    topic_replication_factor: int = Field(
        3, ge=1, description="Replication factor of topics the tools create (CRM_ANON_TOPIC_REPLICATION_FACTOR)."
    )
    topic_min_insync_replicas: int = Field(
        2, ge=1, description="min.insync.replicas of topics the tools create (CRM_ANON_TOPIC_MIN_INSYNC_REPLICAS)."
    )
    local_services: bool = Field(
        False,
        description="Against the single-broker local services: topics are created with replication factor 1 "
        "and min.insync.replicas 1; without it, output, audit and dead-letter topics with replication factor 1 "
        "are refused (CRM_ANON_LOCAL_SERVICES).",
    )
    offload: bool = Field(
        True,
        description="Run the pipeline in a child process so consuming and anonymizing use two cores "
        "(CRM_ANON_OFFLOAD).",
    )
    max_record_bytes: int = Field(
        1_000_000,
        ge=10_000,
        description="Largest output, audit or dead-letter record; a larger output is dead-lettered "
        "(CRM_ANON_MAX_RECORD_BYTES).",
    )
    session_timeout_s: float = Field(
        10.0,
        ge=6.0,
        description="Consumer group session timeout: how soon a killed worker's partitions move, s "
        "(CRM_ANON_SESSION_TIMEOUT_S).",
    )
    group_instance_id: str = Field(
        "",
        description="Static group membership: a stable id unique per worker (a pod name); a restarted worker "
        "takes its partitions back at once instead of after the session timeout. Empty: dynamic membership "
        "(CRM_ANON_GROUP_INSTANCE_ID).",
    )
    producer_linger_ms: int = Field(5, ge=0, description="Producer linger, ms (CRM_ANON_PRODUCER_LINGER_MS).")
    web_enabled: bool = Field(False, description="Faust web server for health/metrics (CRM_ANON_WEB_ENABLED).")
    web_port: int = Field(6066, description="Faust web port (CRM_ANON_WEB_PORT).")
    web_bind: str = Field("127.0.0.1", description="Faust web bind address; 0.0.0.0 in containers (CRM_ANON_WEB_BIND).")
    state_dir: Path = Field(
        REPO_ROOT / ".local", description="The worker's local data (Faust data dir, demo logs) (CRM_ANON_STATE_DIR)."
    )
    log_level: str = Field("info", description="Log level (CRM_ANON_LOG_LEVEL).")
    log_format: str = Field("console", pattern="^(console|json)$", description="console or json (CRM_ANON_LOG_FORMAT).")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
