"""The worker's operations endpoint: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``.

A small threaded HTTP server of its own (not Faust's web server): it answers while the event loop is busy,
binds where ``CRM_ANON_METRICS_BIND`` says (0.0.0.0 in containers) and serves nothing else.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.health import WorkerHealth
from streams.metrics import WorkerMetrics


class _Handler(BaseHTTPRequestHandler):
    metrics: ClassVar[WorkerMetrics]
    health: ClassVar[WorkerHealth]

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self.metrics.batch_in_flight.set(self.health.in_flight_s())
            self._send(200, generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            alive = self.health.alive()
            self._json(200 if alive else 503, {"alive": alive})
        elif path == "/readyz":
            problems = self.health.problems()
            self._json(503 if problems else 200, {"ready": not problems, "problems": problems})
        else:
            self._send(404, b"not found\n", "text/plain")

    def _json(self, status: int, body: dict[str, object]) -> None:
        self._send(status, json.dumps(body).encode() + b"\n", "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None  # probes every few seconds: no access log


class OpsServer:
    def __init__(self, bind: str, port: int, metrics: WorkerMetrics, health: WorkerHealth) -> None:
        handler = type("Handler", (_Handler,), {"metrics": metrics, "health": health})
        self._server = ThreadingHTTPServer((bind, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ops-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
