#!/usr/bin/env python3
"""Health check for the crm-anonymizer container: Docker HEALTHCHECK and Kubernetes exec probes.

Exit status 0 means healthy and 1 means unhealthy. Standard library only.

The check runs inside the container, so it can reach the container's own loopback interface. Faust's web
server binds 127.0.0.1 (see streams/processor/app.py), and this check can still reach it.

* When ``CRM_ANON_WEB_ENABLED`` is true, ``GET http://127.0.0.1:$CRM_ANON_WEB_PORT/`` must answer 200. The web
  server runs on the worker's event loop, so this check also fails when that loop is stuck.
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


def web_ok(port: int, timeout: float) -> tuple[bool, str]:
    url = f"http://127.0.0.1:{port}/"
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
    args = parser.parse_args()

    if os.environ.get("CRM_ANON_WEB_ENABLED", "false").strip().lower() in TRUE:
        ok, detail = web_ok(int(os.environ.get("CRM_ANON_WEB_PORT", "6066")), args.timeout)
    else:
        ok, detail = process_ok(args.pid)
    print(("healthy: " if ok else "unhealthy: ") + detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
