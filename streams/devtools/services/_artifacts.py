"""Fetch the Kafka and Apicurio Registry binaries with Maven (cached in ~/.m2 and under the state dir).

Each result is stamped with the SHA-256 of the pom that produced it, so editing a version in
``deploy/local/*/pom.xml`` re-fetches on the next ``up`` and an unchanged pom costs no Maven run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import structlog

from streams.devtools.services import LocalServiceError
from streams.settings import REPO_ROOT

DEPLOY_DIR = REPO_ROOT / "deploy" / "local"
KAFKA_POM = DEPLOY_DIR / "kafka" / "pom.xml"
KAFKA_LOG4J2 = DEPLOY_DIR / "kafka" / "log4j2.properties"
KAFKA_SERVER_TEMPLATE = DEPLOY_DIR / "kafka" / "server.properties.template"
REGISTRY_POM = DEPLOY_DIR / "registry" / "pom.xml"
REGISTRY_TARBALL = "apicurio-registry-app-all.tar.gz"  # destFileName in the registry pom

MAVEN_TIMEOUT_S = 1800.0

log = structlog.get_logger(__name__)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise LocalServiceError(f"`{name}` is not on PATH; the local services need Java 17+ and Maven 3.8+")
    return path


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _is_stamped(stamp: Path, digest: str) -> bool:
    try:
        return stamp.read_text(encoding="ascii").strip() == digest
    except FileNotFoundError:
        return False


def _run_maven(pom: Path, *args: str) -> None:
    argv = [require_tool("mvn"), "-B", "-q", "-f", str(pom), *args]
    log.info("maven.run", pom=str(pom.relative_to(REPO_ROOT)), goal=args[0])
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=MAVEN_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise LocalServiceError(f"maven timed out after {MAVEN_TIMEOUT_S:.0f}s: {' '.join(argv)}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise LocalServiceError(f"maven failed ({done.returncode}): {' '.join(argv)}\n{tail}")


def kafka_classpath(state_dir: Path) -> str:
    """The broker's classpath (jars in the local Maven repository), resolving it if needed."""
    kafka_dir = state_dir / "kafka"
    kafka_dir.mkdir(parents=True, exist_ok=True)
    cp_file = kafka_dir / "classpath.txt"
    stamp = kafka_dir / "classpath.sha256"
    digest = _pom_digest(KAFKA_POM)
    if _is_stamped(stamp, digest) and cp_file.is_file():
        classpath = cp_file.read_text(encoding="utf-8").strip()
        if classpath and all(Path(jar).is_file() for jar in classpath.split(os.pathsep)):
            return classpath
    _run_maven(KAFKA_POM, "dependency:build-classpath", f"-Dmdep.outputFile={cp_file}")
    classpath = cp_file.read_text(encoding="utf-8").strip()
    if not classpath:
        raise LocalServiceError(f"maven wrote an empty classpath to {cp_file}")
    stamp.write_text(digest + "\n", encoding="ascii")
    return classpath


def registry_app(state_dir: Path) -> Path:
    """The unpacked Apicurio Registry distribution, fetching and unpacking it if needed."""
    registry_dir = state_dir / "registry"
    registry_dir.mkdir(parents=True, exist_ok=True)
    app = registry_dir / "app"
    stamp = app / ".pom.sha256"
    digest = _pom_digest(REGISTRY_POM)
    if _is_stamped(stamp, digest):
        try:
            registry_jar(app)
            return app
        except LocalServiceError:
            pass
    download = registry_dir / "download"
    _run_maven(REGISTRY_POM, "dependency:copy", f"-Dregistry.download.dir={download}")
    tarball = download / REGISTRY_TARBALL
    partial = registry_dir / "app.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    log.info("registry.unpack", tarball=str(tarball))
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(partial, filter="data")
    (partial / ".pom.sha256").write_text(digest + "\n", encoding="ascii")
    shutil.rmtree(app, ignore_errors=True)
    partial.rename(app)
    shutil.rmtree(download, ignore_errors=True)  # the tarball stays cached in ~/.m2
    registry_jar(app)
    return app


def registry_jar(app: Path) -> Path:
    """``quarkus-run.jar`` (fast-jar layout, 3.1+) or ``*-runner.jar`` (legacy-jar layout, 3.0.x)."""
    fast_jar = app / "quarkus-run.jar"
    if fast_jar.is_file():
        return fast_jar
    runners = sorted(app.glob("*-runner.jar"))
    if len(runners) == 1:
        return runners[0]
    raise LocalServiceError(f"no quarkus-run.jar or single *-runner.jar in {app}")
