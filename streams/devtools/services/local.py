"""Start, stop and inspect the local Kafka broker and schema registry (no Docker).

* Kafka: single-node KRaft (broker + controller in one JVM) on ``127.0.0.1:<kafka_port>``, controller on
  ``<kafka_controller_port>``. Binaries from ``deploy/local/kafka/pom.xml`` (Maven, cached in ~/.m2).
* Registry: Apicurio Registry 3, in-memory storage, Confluent API at
  ``http://127.0.0.1:<registry_port>/apis/ccompat/v7``. Binary from ``deploy/local/registry/pom.xml``.

Under ``settings.services_dir``: ``logs/`` (kafka.log, kafka.out, registry.log), ``pids/`` (kafka.pid,
registry.pid), ``kafka/`` (rendered server.properties, classpath, ``data/`` log dirs) and ``registry/app/``.

``up`` is idempotent: a service whose pid file names a live process of ours that answers is left alone.
``down`` stops exactly the processes named by the pid files and then deletes Kafka's data directory,
so every ``up`` after a ``down`` starts with an empty broker (the registry is in-memory anyway).
Pass ``keep_data=True`` to keep the topics.
"""

from __future__ import annotations

import base64
import logging
import shutil
import string
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import httpx
import structlog
from confluent_kafka import KafkaException

from streams.devtools.services import LocalServiceError, _artifacts, _process, tls
from streams.devtools.services.settings import LocalServicesSettings
from streams.kafka.config import admin_client
from streams.settings import ConnectionSettings, SaslMechanism

__all__ = [
    "LocalServiceError",
    "ServiceStatus",
    "down",
    "kafka_address",
    "mtls_connection",
    "registry_address",
    "sasl_ssl_connection",
    "status",
    "up",
]

HOST = "127.0.0.1"
KAFKA_HEAP = ("-Xms256m", "-Xmx512m")
REGISTRY_HEAP = ("-Xms128m", "-Xmx512m")
PROBE_TIMEOUT_S = 2.0

log = structlog.get_logger(__name__)
# librdkafka's own log lines (connection refused while a broker starts, ...) go to stdlib logging.
_rdkafka_logger = logging.getLogger(f"{__name__}.rdkafka")


class ServiceStatus(TypedDict):
    """One service in ``status()``: pid from the pid file, whether that process is alive and ours,
    whether it answers (Kafka metadata request / registry ``GET /subjects``), and where."""

    pid: int | None
    alive: bool
    answering: bool
    address: str


def kafka_address(settings: LocalServicesSettings) -> str:
    """Bootstrap address the local broker listens on and advertises."""
    return f"{HOST}:{settings.kafka_port}"


def sasl_ssl_connection(
    settings: LocalServicesSettings, mechanism: SaslMechanism = "SCRAM-SHA-512", **update: Any
) -> ConnectionSettings:
    """How a client reaches the local SASL_SSL listener as the local user (``update``: other fields)."""
    pki = tls.Pki.under(_Paths.of(settings).tls_dir)
    fields: dict[str, Any] = {
        "kafka_bootstrap": f"localhost:{settings.sasl_port}",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": mechanism,
        "kafka_sasl_username": settings.local_sasl_username,
        "kafka_sasl_password": settings.local_sasl_password,
        "kafka_ssl_ca_file": pki.ca_cert,
    }
    return ConnectionSettings(**{**fields, **update})


def mtls_connection(settings: LocalServicesSettings, **update: Any) -> ConnectionSettings:
    """How a client reaches the local SSL listener with the local client certificate (mutual TLS)."""
    pki = tls.Pki.under(_Paths.of(settings).tls_dir)
    fields: dict[str, Any] = {
        "kafka_bootstrap": f"localhost:{settings.ssl_port}",
        "kafka_security_protocol": "SSL",
        "kafka_ssl_ca_file": pki.ca_cert,
        "kafka_ssl_cert_file": pki.client_cert,
        "kafka_ssl_key_file": pki.client_key,
    }
    return ConnectionSettings(**{**fields, **update})


def registry_address(settings: LocalServicesSettings) -> str:
    """Confluent-compatible base URL of the local registry."""
    return f"http://{HOST}:{settings.registry_port}/apis/ccompat/v7"


@dataclass(frozen=True)
class _Paths:
    state_dir: Path
    logs: Path
    pids: Path
    kafka_dir: Path
    kafka_data: Path
    registry_dir: Path
    tls_dir: Path

    @classmethod
    def of(cls, settings: LocalServicesSettings) -> _Paths:
        state = settings.services_dir.resolve()
        return cls(
            state_dir=state,
            logs=state / "logs",
            pids=state / "pids",
            kafka_dir=state / "kafka",
            kafka_data=state / "kafka" / "data",
            registry_dir=state / "registry",
            tls_dir=state / "kafka" / "tls",
        )

    def create(self) -> None:
        for path in (self.logs, self.pids, self.kafka_dir, self.registry_dir):
            path.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class _Service:
    name: str
    address: str
    ports: tuple[int, ...]
    pid_file: Path
    log_file: Path
    cwd: Path
    marker: str
    answers: Callable[[], bool]
    prepare: Callable[[], list[str]]  # fetch + configure; returns the argv to start


def _kafka_answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    if not _process.port_open(host, int(port)):
        return False  # avoids librdkafka retry noise while nothing listens
    admin = admin_client(
        ConnectionSettings(kafka_bootstrap=address),
        **{"socket.timeout.ms": int(PROBE_TIMEOUT_S * 1000), "logger": _rdkafka_logger},
    )
    try:
        metadata = admin.list_topics(timeout=PROBE_TIMEOUT_S)
    except KafkaException:
        return False
    return bool(metadata.brokers)


def _registry_answers(base_url: str) -> bool:
    try:
        # trust_env=False: an HTTP(S)_PROXY in the environment must not capture loopback calls.
        response = httpx.get(f"{base_url}/subjects", timeout=PROBE_TIMEOUT_S, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _cluster_id() -> str:
    """A KRaft cluster id (base64url UUID, like ``kafka-storage random-uuid``)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cid.startswith("-"):
            return cid


def _prepare_kafka(settings: LocalServicesSettings, paths: _Paths, marker: str) -> list[str]:
    java = _artifacts.require_tool("java")
    classpath = _artifacts.kafka_classpath(paths.state_dir)
    properties = paths.kafka_dir / "server.properties"
    template = string.Template(_artifacts.KAFKA_SERVER_TEMPLATE.read_text(encoding="utf-8"))
    pki = tls.ensure_local_pki(paths.tls_dir)
    password = settings.local_sasl_password.get_secret_value()
    properties.write_text(
        template.substitute(
            kafka_port=settings.kafka_port,
            controller_port=settings.kafka_controller_port,
            sasl_port=settings.sasl_port,
            ssl_port=settings.ssl_port,
            keystore=pki.broker_keystore.as_posix(),
            truststore=pki.ca_cert.as_posix(),
            sasl_username=settings.local_sasl_username,
            sasl_password=password,
            log_dirs=paths.kafka_data.as_posix(),
        ),
        encoding="utf-8",
    )
    properties.chmod(0o600)  # it holds the local PLAIN password
    if not (paths.kafka_data / "meta.properties").is_file():
        user = f"name={settings.local_sasl_username},password={password}"
        _run_checked(
            [
                java,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                _cluster_id(),
                "-c",
                str(properties),
                "--ignore-formatted",
                "--add-scram",
                f"SCRAM-SHA-256=[{user}]",
                "--add-scram",
                f"SCRAM-SHA-512=[{user}]",
            ],
            what="kafka storage format",
        )
    (paths.logs / "kafka.log").write_bytes(b"")  # log4j2 appends (see log4j2.properties)
    return [
        java,
        *KAFKA_HEAP,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        marker,
        f"-Dlog4j2.configurationFile={_artifacts.KAFKA_LOG4J2}",
        f"-Dkafka.logs.dir={paths.logs}",
        "-cp",
        classpath,
        "kafka.Kafka",
        str(properties),
    ]


def _prepare_registry(settings: LocalServicesSettings, paths: _Paths, marker: str) -> list[str]:
    java = _artifacts.require_tool("java")
    jar = _artifacts.registry_jar(_artifacts.registry_app(paths.state_dir))
    return [
        java,
        *REGISTRY_HEAP,
        marker,
        f"-Dquarkus.http.host={HOST}",
        f"-Dquarkus.http.port={settings.registry_port}",
        f"-Dquarkus.management.host={HOST}",
        f"-Dquarkus.management.port={settings.registry_management_port}",
        "-Dquarkus.http.access-log.enabled=false",
        "-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n",
        "-Dapicurio.ccompat.use-canonical-hash=true",
        # Registry 3 refuses deletes by default; tests clean up subjects, so allow them locally.
        "-Dapicurio.rest.deletion.group.enabled=true",
        "-Dapicurio.rest.deletion.artifact.enabled=true",
        "-Dapicurio.rest.deletion.artifact-version.enabled=true",
        "-jar",
        str(jar),
    ]


def _run_checked(argv: Sequence[str], *, what: str) -> None:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise LocalServiceError(f"{what} failed ({done.returncode}):\n{tail}")


def _services(settings: LocalServicesSettings, paths: _Paths) -> list[_Service]:
    kafka_marker = _process.marker_arg("kafka", paths.state_dir)
    registry_marker = _process.marker_arg("registry", paths.state_dir)
    kafka_addr = kafka_address(settings)
    registry_url = registry_address(settings)
    return [
        _Service(
            name="kafka",
            address=kafka_addr,
            ports=(settings.kafka_port, settings.kafka_controller_port, settings.sasl_port, settings.ssl_port),
            pid_file=paths.pids / "kafka.pid",
            log_file=paths.logs / "kafka.out",
            cwd=paths.kafka_dir,
            marker=kafka_marker,
            answers=lambda: _kafka_answers(kafka_addr),
            prepare=lambda: _prepare_kafka(settings, paths, kafka_marker),
        ),
        _Service(
            name="registry",
            address=registry_url,
            ports=(settings.registry_port, settings.registry_management_port),
            pid_file=paths.pids / "registry.pid",
            log_file=paths.logs / "registry.log",
            cwd=paths.registry_dir,
            marker=registry_marker,
            answers=lambda: _registry_answers(registry_url),
            prepare=lambda: _prepare_registry(settings, paths, registry_marker),
        ),
    ]


def _running_pid(service: _Service) -> int | None:
    pid = _process.read_pid(service.pid_file)
    if pid is not None and _process.is_running(pid, service.marker):
        return pid
    return None


def _start(service: _Service) -> int:
    busy = [port for port in service.ports if _process.port_open(HOST, port)]
    if busy:
        raise LocalServiceError(
            f"{service.name}: port(s) {busy} on {HOST} are already in use by a process this state dir "
            "did not start; stop it or choose other ports (CRM_ANON_*_PORT)"
        )
    argv = service.prepare()
    pid = _process.spawn(argv, cwd=service.cwd, log_file=service.log_file)
    _process.write_pid(service.pid_file, pid)
    log.info("service.started", service=service.name, pid=pid, log_file=str(service.log_file))
    return pid


def _wait_ready(service: _Service, pid: int, deadline: float, started_at: float) -> None:
    while True:
        if service.answers():
            log.info(
                "service.ready",
                service=service.name,
                pid=pid,
                address=service.address,
                seconds=round(time.monotonic() - started_at, 1),
            )
            return
        if not _process.is_running(pid, service.marker):
            _process.remove_pid(service.pid_file)
            raise LocalServiceError(
                f"{service.name} (pid {pid}) exited during startup; {service.log_file}:\n"
                + _process.log_tail(service.log_file)
            )
        if time.monotonic() >= deadline:
            _process.terminate(pid, service.marker, timeout=10.0)
            _process.remove_pid(service.pid_file)
            raise LocalServiceError(
                f"{service.name} (pid {pid}) did not answer on {service.address} in time; stopped it. "
                f"{service.log_file}:\n" + _process.log_tail(service.log_file)
            )
        time.sleep(0.25)


def up(settings: LocalServicesSettings, *, timeout: float = 300.0) -> None:
    """Start whichever of Kafka and the registry is not already running and wait until both answer.

    Downloads the binaries with Maven on first use. ``timeout`` bounds the wait for the services to
    answer once started (not the download). Raises ``LocalServiceError`` with the log tail on failure.
    """
    paths = _Paths.of(settings)
    paths.create()
    started_at = time.monotonic()
    with _process.locked(paths.pids / ".lock"):
        to_wait: list[tuple[_Service, int]] = []
        to_start: list[_Service] = []
        for service in _services(settings, paths):
            pid = _running_pid(service)
            if pid is None:
                _process.remove_pid(service.pid_file)
                to_start.append(service)
            elif service.answers():
                log.info("service.already_running", service=service.name, pid=pid, address=service.address)
            else:
                to_wait.append((service, pid))  # ours and alive, still starting up
        if to_start:
            # Fetching and starting in parallel: the two JVMs boot concurrently.
            with ThreadPoolExecutor(max_workers=len(to_start)) as pool:
                futures = [(service, pool.submit(_start, service)) for service in to_start]
                errors: list[Exception] = []
                for service, future in futures:
                    try:
                        to_wait.append((service, future.result()))
                    except Exception as exc:
                        errors.append(exc)
            if errors:
                raise errors[0]
        deadline = time.monotonic() + timeout
        for service, pid in to_wait:
            _wait_ready(service, pid, deadline, started_at)


def down(settings: LocalServicesSettings, *, keep_data: bool = False, timeout: float = 30.0) -> None:
    """Stop the services named by the pid files (SIGTERM, SIGKILL after ``timeout`` s), remove the pid
    files and, unless ``keep_data``, delete Kafka's data directory so the next ``up`` starts empty."""
    paths = _Paths.of(settings)
    paths.create()
    with _process.locked(paths.pids / ".lock"):
        kafka_stopped = True
        for service in _services(settings, paths):
            pid = _process.read_pid(service.pid_file)
            if pid is None:
                log.info("service.not_running", service=service.name)
            elif _process.terminate(pid, service.marker, timeout=timeout):
                log.info("service.stopped", service=service.name, pid=pid)
            else:
                log.info("service.stale_pid_file", service=service.name, pid=pid)
            _process.remove_pid(service.pid_file)
            if service.name == "kafka" and pid is not None:
                kafka_stopped = not _process.is_running(pid, service.marker)
        if not keep_data and kafka_stopped and paths.kafka_data.exists():
            shutil.rmtree(paths.kafka_data)
            log.info("kafka.data_wiped", path=str(paths.kafka_data))


def status(settings: LocalServicesSettings) -> dict[str, ServiceStatus]:
    """``{"kafka": {...}, "registry": {...}}``. ``answering`` is only checked for a live process of ours."""
    paths = _Paths.of(settings)
    result: dict[str, ServiceStatus] = {}
    for service in _services(settings, paths):
        pid = _process.read_pid(service.pid_file)
        alive = pid is not None and _process.is_running(pid, service.marker)
        result[service.name] = ServiceStatus(
            pid=pid,
            alive=alive,
            answering=alive and service.answers(),
            address=service.address,
        )
    return result


def restart_kafka(settings: LocalServicesSettings, *, timeout: float = 120.0) -> float:
    """Stop the broker (SIGTERM), keep its data, start it again; returns the seconds it was not answering
    (the chaos suite's broker restart)."""
    paths = _Paths.of(settings)
    kafka = next(s for s in _services(settings, paths) if s.name == "kafka")
    stopped_at = time.monotonic()
    with _process.locked(paths.pids / ".lock"):
        pid = _process.read_pid(kafka.pid_file)
        if pid is not None:
            _process.terminate(pid, kafka.marker, timeout=60)
        _process.remove_pid(kafka.pid_file)
    up(settings, timeout=timeout)
    return time.monotonic() - stopped_at
