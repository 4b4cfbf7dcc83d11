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
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where schemas/ and policies/ live: the source checkout, or, for an installed wheel, the data files that
# pyproject.toml installs under <prefix>/share/crm-anonymizer.
INSTALLED_DATA = Path(sys.prefix) / "share" / "crm-anonymizer"
DATA_ROOT = REPO_ROOT if (REPO_ROOT / "schemas").is_dir() else INSTALLED_DATA
SCHEMA_DIR = DATA_ROOT / "schemas"


ENV_PREFIX = "CRM_ANON_"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class ConnectionSettings(BaseSettings):
    """Where the broker and the registry are. Defaults fit the local services (``crm-anonymizer services up``)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore", hide_input_in_errors=True)

    kafka_bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers (CRM_ANON_KAFKA_BOOTSTRAP).")
    registry_url: str = Field(
        "http://127.0.0.1:18081/apis/ccompat/v7",
        description="Confluent-compatible schema registry URL (CRM_ANON_REGISTRY_URL).",
    )
    kafka_security_protocol: SecurityProtocol = Field(
        "PLAINTEXT",
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, for every Kafka client "
        "(CRM_ANON_KAFKA_SECURITY_PROTOCOL).",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        "PLAIN", description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (CRM_ANON_KAFKA_SASL_MECHANISM)."
    )
    kafka_sasl_username: str = Field(
        "", description="SASL user, or the API key of Confluent Cloud (CRM_ANON_KAFKA_SASL_USERNAME)."
    )
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password, or the API secret (CRM_ANON_KAFKA_SASL_PASSWORD)."
    )
    kafka_ssl_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA(s) that signed the broker certificates; empty: the system trust store "
        "(CRM_ANON_KAFKA_SSL_CA_FILE).",
    )
    kafka_ssl_cert_file: Path | None = Field(
        None, description="PEM client certificate for mutual TLS (CRM_ANON_KAFKA_SSL_CERT_FILE)."
    )
    kafka_ssl_key_file: Path | None = Field(
        None, description="PEM private key of the client certificate (CRM_ANON_KAFKA_SSL_KEY_FILE)."
    )
    kafka_ssl_key_password: SecretStr = Field(
        SecretStr(""), description="Password of an encrypted client key (CRM_ANON_KAFKA_SSL_KEY_PASSWORD)."
    )
    kafka_ssl_check_hostname: bool = Field(
        True,
        description="Verify that the broker certificate names the host connected to "
        "(CRM_ANON_KAFKA_SSL_CHECK_HOSTNAME).",
    )
    registry_username: str = Field("", description="Registry basic-auth user or API key (CRM_ANON_REGISTRY_USERNAME).")
    registry_password: SecretStr = Field(
        SecretStr(""), description="Registry basic-auth password or API secret (CRM_ANON_REGISTRY_PASSWORD)."
    )
    registry_ssl_ca_file: Path | None = Field(
        None,
        description="PEM CA file for an https registry; empty: the system trust store (CRM_ANON_REGISTRY_SSL_CA_FILE).",
    )
    registry_ssl_cert_file: Path | None = Field(
        None, description="PEM client certificate for the registry (CRM_ANON_REGISTRY_SSL_CERT_FILE)."
    )
    registry_ssl_key_file: Path | None = Field(
        None, description="PEM private key of the registry client certificate (CRM_ANON_REGISTRY_SSL_KEY_FILE)."
    )

    @field_validator(
        "kafka_ssl_ca_file",
        "kafka_ssl_cert_file",
        "kafka_ssl_key_file",
        "registry_ssl_ca_file",
        "registry_ssl_cert_file",
        "registry_ssl_key_file",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def uses_sasl(self) -> bool:
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.kafka_security_protocol.endswith("SSL")

    @model_validator(mode="after")
    def _consistent(self) -> ConnectionSettings:
        # Messages name settings, never their values (hide_input_in_errors keeps pydantic from quoting them).
        if self.uses_sasl and not (self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()):
            raise ValueError(
                f"security protocol {self.kafka_security_protocol} needs CRM_ANON_KAFKA_SASL_USERNAME "
                "and CRM_ANON_KAFKA_SASL_PASSWORD"
            )
        for cert, key, name in (
            (self.kafka_ssl_cert_file, self.kafka_ssl_key_file, "CRM_ANON_KAFKA_SSL"),
            (self.registry_ssl_cert_file, self.registry_ssl_key_file, "CRM_ANON_REGISTRY_SSL"),
        ):
            if (cert is None) != (key is None):
                raise ValueError(f"{name}_CERT_FILE and {name}_KEY_FILE go together")
        if not self.uses_tls and any(
            f is not None for f in (self.kafka_ssl_ca_file, self.kafka_ssl_cert_file, self.kafka_ssl_key_file)
        ):
            raise ValueError(
                "CRM_ANON_KAFKA_SSL_* files are set but CRM_ANON_KAFKA_SECURITY_PROTOCOL "
                f"{self.kafka_security_protocol} does not use TLS"
            )
        if bool(self.registry_username) != bool(self.registry_password.get_secret_value()):
            raise ValueError("CRM_ANON_REGISTRY_USERNAME and CRM_ANON_REGISTRY_PASSWORD go together")
        for path in (
            self.kafka_ssl_ca_file,
            self.kafka_ssl_cert_file,
            self.kafka_ssl_key_file,
            self.registry_ssl_ca_file,
            self.registry_ssl_cert_file,
            self.registry_ssl_key_file,
        ):
            if path is not None and not path.is_file():
                raise ValueError(f"TLS file {path} does not exist")
        return self

    registry_timeout_s: float = Field(
        10.0, gt=0, description="Timeout of one schema registry request, s (CRM_ANON_REGISTRY_TIMEOUT_S)."
    )


class Settings(BaseSettings):
    """The worker's configuration. Defaults fit the local services that ``crm-anonymizer services up`` starts."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore", hide_input_in_errors=True)

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
    batch_window_ms: int = Field(
        1,
        ge=0,
        description="Max wait of a batch's first event while the pipeline is idle, ms; under load a batch is what "
        "arrived while the previous one was processed (CRM_ANON_BATCH_WINDOW_MS).",
    )
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
    state_store: str = Field(
        "rocksdb://",
        pattern="^(rocksdb|memory)://$",
        description="Faust store of the subject-state tables (DP releases, budgets): rocksdb:// (durable, with "
        "changelog topics) or memory:// (rebuilt from the changelog at start) (CRM_ANON_STATE_STORE).",
    )
    state_cache_mb: int = Field(
        8,
        ge=1,
        le=4096,
        description="RocksDB block cache of each state-table partition, MiB (Faust's default is 2 GiB per "
        "partition: no real bound on a worker's memory as its state grows) (CRM_ANON_STATE_CACHE_MB).",
    )
    state_write_buffer_mb: int = Field(
        4,
        ge=1,
        le=1024,
        description="RocksDB write buffer (memtable) of each state-table partition, MiB; at most two are held "
        "(CRM_ANON_STATE_WRITE_BUFFER_MB).",
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
    output_retention_ms: int = Field(
        604_800_000,
        ge=3_600_000,
        description="How long a consumer has to read an output record once written, ms. Output topics the worker "
        "creates for sources whose Kafka timestamp is coarsened to a day or coarser keep records this long plus "
        "that backdating (the month: 31 days), since Kafka deletes by record timestamp; others get the broker's "
        "default (CRM_ANON_OUTPUT_RETENTION_MS).",
    )
    max_poll_records: int = Field(
        0,
        ge=0,
        description="Records per consumer poll (Faust's broker_max_poll_records); 0: twice the batch size, at "
        "least 1000. The Faust process turns a whole poll into events in one go, so a smaller poll lets a "
        "finished batch be acknowledged sooner under load (CRM_ANON_MAX_POLL_RECORDS).",
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="The event loop of the worker and its pipeline process: uvloop (libuv; measured: about a fifth "
        "less CPU per event in the Faust process) or asyncio (CRM_ANON_EVENT_LOOP).",
    )
    metrics_enabled: bool = Field(
        True, description="Serve /metrics, /healthz and /readyz over HTTP (CRM_ANON_METRICS_ENABLED)."
    )
    metrics_bind: str = Field(
        "127.0.0.1",
        description="Bind address of the metrics and health server; 0.0.0.0 in containers (CRM_ANON_METRICS_BIND).",
    )
    metrics_port: int = Field(9464, ge=0, le=65535, description="Metrics and health port (CRM_ANON_METRICS_PORT).")
    lag_interval_s: float = Field(
        10.0, gt=0, description="Seconds between consumer-lag measurements (CRM_ANON_LAG_INTERVAL_S)."
    )
    ready_max_silence_s: float = Field(
        60.0,
        gt=0,
        description="/readyz fails when the registry or broker did not answer for this long, or a batch has been "
        "in flight this long (CRM_ANON_READY_MAX_SILENCE_S).",
    )
    stall_timeout_s: float = Field(
        180.0,
        ge=0,
        description="Exit (code 75, nothing committed) when records wait but the consumer has delivered no batch "
        "for this long with partitions assigned, so the supervisor restarts it; 0 disables. Longer than a table "
        "recovery takes (CRM_ANON_STALL_TIMEOUT_S).",
    )
    web_enabled: bool = Field(False, description="Faust web server for health/metrics (CRM_ANON_WEB_ENABLED).")
    web_port: int = Field(6066, description="Faust web port (CRM_ANON_WEB_PORT).")
    web_bind: str = Field("127.0.0.1", description="Faust web bind address; 0.0.0.0 in containers (CRM_ANON_WEB_BIND).")
    state_dir: Path = Field(
        REPO_ROOT / ".local", description="The worker's local data (Faust data dir, demo logs) (CRM_ANON_STATE_DIR)."
    )
    log_level: str = Field("info", description="Log level (CRM_ANON_LOG_LEVEL).")
    log_format: str = Field("console", pattern="^(console|json)$", description="console or json (CRM_ANON_LOG_FORMAT).")


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, naming settings but never their values (safe to print)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}"
        for error in exc.errors(include_input=False)
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
