"""`make compose-test`: build every image with podman, start the compose stack with podman-compose, check that
events flow end to end, that no raw value leaks, and that /readyz answers; then stop and remove everything.

Base images come from Debian's packages (mmdebstrap), because no image registry is reachable here; they are
built once and kept (``localhost/local/python311``, ``localhost/local/jre17``). The base images trust the same
CAs as this machine (its /etc/ssl/certs bundle), so pip inside a build verifies PyPI through a TLS-inspecting
proxy too. Kafka and the registry images are built from the jars that ``crm-anonymizer services up`` fetched
with Maven (fetched here if missing). Run with the project's venv python; prints one JSON line at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from streams.devtools.generator.debezium import CrmCdcGenerator
from streams.devtools.leaks import LeakScanner
from streams.devtools.services import _artifacts
from streams.devtools.services.settings import LocalServicesSettings
from streams.kafka.reader import read_topic
from streams.settings import REPO_ROOT, ConnectionSettings

COMPOSE_DIR = REPO_ROOT / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
PYTHON_BASE = "localhost/local/python311"
JRE_BASE = "localhost/local/jre17"
TAG = "compose-test"
PROJECT = "crm-anon-compose-test"
COUNT = int(os.environ.get("COMPOSE_TEST_COUNT", "2000"))
SEED = 7
SOURCE_TOPICS = ("crm.public.contacts", "crmdb.crm.accounts")
OUTPUT_TOPICS = tuple(f"anon.{t}" for t in SOURCE_TOPICS)


def run(*argv: str, timeout: float = 1800, env: dict[str, str] | None = None, quiet: bool = False) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise SystemExit(f"compose-test: {' '.join(argv[:4])} ... failed ({done.returncode}):\n{tail}")
    if not quiet:
        print(f"ok: {' '.join(argv[:4])}", flush=True)
    return done.stdout


def tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"compose-test: `{name}` is not on PATH ({hint}); see /work/shared/CONTAINERS.md")
    return path


def image_exists(podman: str, name: str) -> bool:
    return subprocess.run([podman, "image", "exists", name], check=False).returncode == 0


def base_image(podman: str, name: str, include: str) -> None:
    """A Debian bookworm base (mmdebstrap) that trusts this machine's CA bundle."""
    if image_exists(podman, name):
        return
    mmdebstrap = tool("mmdebstrap", "apt-get install mmdebstrap")
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        run(mmdebstrap, "--variant=minbase", f"--include={include}", "bookworm", str(rootfs))
        run(podman, "import", str(rootfs), f"{name}-debian")
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", Path(tmp) / "ca-certificates.crt")
        (Path(tmp) / "Containerfile").write_text(
            f"FROM {name}-debian\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
        )
        run(podman, "build", "-q", "-t", name, tmp)


def stage(context: Path) -> tuple[Path, Path]:
    """Build contexts of the Kafka and registry images: the Dockerfiles plus the jars."""
    state = LocalServicesSettings().services_dir.resolve()
    kafka_ctx, registry_ctx = context / "kafka", context / "registry"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(COMPOSE_DIR / "kafka", kafka_ctx)
    (kafka_ctx / "libs").mkdir()
    for jar in _artifacts.kafka_classpath(state).split(os.pathsep):
        shutil.copy(jar, kafka_ctx / "libs" / Path(jar).name)
    shutil.copytree(COMPOSE_DIR / "registry", registry_ctx)
    shutil.copytree(_artifacts.registry_app(state), registry_ctx / "app")
    return kafka_ctx, registry_ctx


def build_images(podman: str, work: Path) -> None:
    kafka_ctx, registry_ctx = stage(work / "contexts")
    for name, context in (("kafka", kafka_ctx), ("registry", registry_ctx)):
        tag = f"localhost/crm-anonymizer-{name}:{TAG}"
        run(podman, "build", "-t", tag, "--build-arg", f"JRE_IMAGE={JRE_BASE}", str(context))
    # --no-cache: buildah's layer cache ignores the content of a RUN --mount=type=bind from another stage, so a
    # cached runtime layer would keep an old wheel. pip's downloads stay cached (the cache mount).
    run(
        podman, "build", "--no-cache", "-f", str(REPO_ROOT / "deploy" / "docker" / "Dockerfile"),
        "-t", f"localhost/crm-anonymizer:{TAG}", "--build-arg", f"PYTHON_IMAGE={PYTHON_BASE}", str(REPO_ROOT),
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(what: str, check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:  # noqa: S110  (not up yet)
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"compose-test: {what} not reached in {timeout_s:.0f} s")
        time.sleep(2)


def main() -> int:
    started = time.monotonic()
    podman = tool("podman", "apt-get install podman")
    compose = shutil.which("podman-compose") or str(Path(sys.executable).parent / "podman-compose")
    if not Path(compose).exists():
        raise SystemExit("compose-test: podman-compose is missing (pip install podman-compose)")
    base_image(podman, PYTHON_BASE, "python3,python3-venv,ca-certificates")
    base_image(podman, JRE_BASE, "openjdk-17-jre-headless,ca-certificates")
    work = Path(tempfile.mkdtemp(prefix="compose-test-"))
    reuse = "--reuse-images" in sys.argv and all(
        image_exists(podman, f"localhost/{name}:{TAG}")
        for name in ("crm-anonymizer", "crm-anonymizer-kafka", "crm-anonymizer-registry")
    )
    if not reuse:
        build_images(podman, work)
    built = time.monotonic()

    ports = {"KAFKA_HOST_PORT": free_port(), "REGISTRY_HOST_PORT": free_port(), "METRICS_HOST_PORT": free_port()}
    env_file = work / "keys.env"
    keys = ("CRM_ANON_TOKENIZATION_KEY", "CRM_ANON_DEAD_LETTER_KEY", "CRM_ANON_ENCRYPTION_KEY")
    env_file.write_text("".join(f"{k}={secrets.token_hex(32)}\n" for k in keys))
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "IMAGE_TAG": TAG,
        "CRM_ANON_ENV_FILE": str(env_file),
        "GENERATE_COUNT": str(COUNT),
        "GENERATE_SEED": str(SEED),
    }
    base = [compose, "-p", PROJECT, "-f", str(COMPOSE_FILE), "--profile", "demo"]
    conn = ConnectionSettings(
        kafka_bootstrap=f"localhost:{ports['KAFKA_HOST_PORT']}",
        registry_url=f"http://127.0.0.1:{ports['REGISTRY_HOST_PORT']}/apis/ccompat/v7",
    )
    metrics = f"http://127.0.0.1:{ports['METRICS_HOST_PORT']}"
    try:
        run(*base, "up", "-d", env=env, timeout=600)  # broker, registry, worker and the generator (demo profile)
        wait("/readyz 200", lambda: httpx.get(f"{metrics}/readyz", timeout=5, trust_env=False).status_code == 200, 300)
        ready_at = time.monotonic()
        generator = f"{PROJECT}_generator_1"
        exit_code = run(podman, "wait", generator, timeout=600).strip()
        if exit_code != "0":
            # Podman runs no health checks without systemd, so depends_on cannot hold the generator back until
            # the broker answers; it then fails its connection check before producing anything. Once /readyz
            # says the broker and registry answer, run it again.
            print(f"generator exited with {exit_code} before the services were up; running it again", flush=True)
            run(podman, "start", "--attach", generator, timeout=600)
        wait(
            f"{COUNT} audit events",
            lambda: len(read_topic(conn, "crm.audit", timeout_s=30)) >= COUNT,
            300,
        )
        audits = read_topic(conn, "crm.audit", timeout_s=30)
        outputs = [r for t in OUTPUT_TOPICS for r in read_topic(conn, t, timeout_s=30)]
        letters = read_topic(conn, "crm.deadletter", timeout_s=30)
        sources = [r for t in SOURCE_TOPICS for r in read_topic(conn, t, timeout_s=30)]
        # The same seed on this side gives the generator's raw identifiers; the source topics must hold them
        # (so the scan below can find something), the outputs, audits and dead letters must not.
        identifiers = CrmCdcGenerator(SEED)
        for _ in identifiers.events(COUNT):
            pass
        control = LeakScanner(identifiers.identifiers.values)
        for record in sources:
            control.scan(record.value, "source")
        leaks = LeakScanner(identifiers.identifiers.values)
        for record in [*outputs, *audits, *letters]:
            leaks.scan(record.key, record.topic)
            leaks.scan(record.value, record.topic)
        metrics_text = httpx.get(f"{metrics}/metrics", timeout=5, trust_env=False).text
        leaks.scan(metrics_text.encode(), "/metrics")
        logs = subprocess.run([podman, "logs", f"{PROJECT}_worker_1"], capture_output=True, check=False)
        leaks.scan(logs.stdout + logs.stderr, "worker log")
        ready = httpx.get(f"{metrics}/readyz", timeout=5, trust_env=False)
        result = {
            "events_generated": COUNT,
            "source_records": len(sources),
            "audit_events": len(audits),
            "outputs": len(outputs),
            "dead_letters": len(letters),
            "outputs_by_topic": dict(Counter(r.topic for r in outputs)),
            "identifiers_in_sources": control.total,
            "raw_values_leaked": leaks.total,
            "leaks_by_place": leaks.found,
            "readyz": ready.status_code,
            "seconds_build": round(built - started, 1),
            "seconds_to_ready": round(ready_at - built, 1),
            "seconds_total": 0.0,
        }
        ok = (
            len(sources) == COUNT
            and len(audits) == COUNT
            and len(outputs) + len(letters) == COUNT
            and len(outputs) > 0
            and control.total > 0
            and leaks.total == 0
            and ready.status_code == 200
        )
    finally:
        subprocess.run([*base, "down", "-v", "-t", "30"], env=env, capture_output=True, timeout=300, check=False)
        shutil.rmtree(work, ignore_errors=True)
    result["seconds_total"] = round(time.monotonic() - started, 1)
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
