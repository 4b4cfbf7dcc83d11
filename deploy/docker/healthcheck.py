#!/usr/bin/env python3
"""Health check for the crm-anonymizer container: Docker HEALTHCHECK and Kubernetes exec probes.

Exit status 0 means healthy and 1 means unhealthy. Standard library only.

The check runs inside the container and asks the worker's own metrics and health server.

* When ``CRM_ANON_METRICS_ENABLED`` is true (the default), ``GET http://127.0.0.1:$CRM_ANON_METRICS_PORT/healthz``
  must answer 200 (``--ready``: ``/readyz``). ``/healthz`` fails when the worker's event loop stops ticking.
* Otherwise the check only looks at the process. The process named by ``--pid`` (default 1, the ENTRYPOINT)
  must be a crm-anonymizer process that is not a zombie. This shows that the process exists, not that it is
  making progress.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request

TRUE = {"1", "true", "yes", "on", "y", "t"}


def web_ok(port: int, path: str, timeout: float) -> tuple[bool, str]:
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # fixed loopback URL
            return response.status == 200, f"{url} -> {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url} -> {exc}"


def process_ok(pid: int) -> tuple[bool, str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError) as exc:
        return False, f"pid {pid}: {exc}"
    is_anonymizer = any(a.endswith("crm-anonymizer") or a == "streams.cli" for a in argv)
    if not is_anonymizer:
        return False, f"pid {pid} is not crm-anonymizer: {' '.join(argv[:3])}"
    if state in {"Z", "X"}:
        return False, f"pid {pid} state {state}"
    return True, f"pid {pid} state {state}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, default=1, help="process to check when the web server is off")
    parser.add_argument("--timeout", type=float, default=3.0, help="HTTP timeout, seconds")
    parser.add_argument("--ready", action="store_true", help="check /readyz instead of /healthz")
    args = parser.parse_args()

    if os.environ.get("CRM_ANON_METRICS_ENABLED", "true").strip().lower() in TRUE:
        port = int(os.environ.get("CRM_ANON_METRICS_PORT", "9464"))
        ok, detail = web_ok(port, "/readyz" if args.ready else "/healthz", args.timeout)
    else:
        ok, detail = process_ok(args.pid)
    print(("healthy: " if ok else "unhealthy: ") + detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
