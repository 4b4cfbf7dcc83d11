"""Detached processes tracked by pid files (Linux-first; works without /proc by trusting the pid).

Each JVM is started with a marker system property (``-Dcrm.anonymizer.service=<name>@<state_dir>``).
A pid only counts as ours while ``/proc/<pid>/cmdline`` still carries that marker, so a recycled pid
is never signalled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

MARKER_PROPERTY = "crm.anonymizer.service"

# The launcher shell starts the service in the background, prints its pid and exits at once, so the
# service is re-parented to init: it never becomes a zombie child of (or a ResourceWarning in) the
# Python process that ran ``up``, and it outlives that process.
_LAUNCHER = 'log=$1; shift; "$@" >"$log" 2>&1 </dev/null & echo $!'


def marker_arg(name: str, state_dir: Path) -> str:
    """The JVM argument that tags a service process as ours."""
    return f"-D{MARKER_PROPERTY}={name}@{state_dir.resolve()}"


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def write_pid(pid_file: Path, pid: int) -> None:
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n", encoding="ascii")
    tmp.replace(pid_file)


def remove_pid(pid_file: Path) -> None:
    pid_file.unlink(missing_ok=True)


def is_running(pid: int, marker: str) -> bool:
    """True while ``pid`` is a live (not zombie) process whose command line carries ``marker``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists but belongs to another user; /proc decides below
    proc = Path("/proc") / str(pid)
    if not Path("/proc/self").is_dir():
        return True
    try:
        stat = (proc / "stat").read_text(encoding="utf-8", errors="replace")
        state = stat.rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
        return marker.encode() in (proc / "cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return False


def spawn(argv: Sequence[str], *, cwd: Path, log_file: Path) -> int:
    """Start ``argv`` detached, in a new session, stdout+stderr to ``log_file`` (truncated); return its pid."""
    done = subprocess.run(
        ["/bin/sh", "-c", _LAUNCHER, "launcher", str(log_file), *argv],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,
        check=False,
        timeout=30,
    )
    pid_text = done.stdout.strip()
    if done.returncode != 0 or not pid_text.isdigit():
        raise OSError(f"could not launch {argv[0]}: rc={done.returncode} {done.stderr.strip()}")
    return int(pid_text)


def terminate(pid: int, marker: str, *, timeout: float) -> bool:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL. Returns False if it was not running."""
    if not is_running(pid, marker):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, marker, timeout):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_gone(pid, marker, 10.0):
        raise TimeoutError(f"process {pid} survived SIGKILL")
    return True


def _wait_gone(pid: int, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_running(pid, marker):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a worker's metrics, a test's server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Exclusive advisory lock so two ``up``/``down`` calls on one state dir do not interleave."""
    with lock_file.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def log_tail(log_file: Path, lines: int = 30) -> str:
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
