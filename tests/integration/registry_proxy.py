"""A TLS + basic-auth front for the local registry (Apicurio has no basic auth without an identity server):
what a secured Confluent-compatible registry looks like to our client. Test helper only."""

from __future__ import annotations

import base64
import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

FORWARDED = ("content-type", "accept")


@contextmanager
def secured_registry(upstream: str, keystore: Path, username: str, password: str) -> Iterator[str]:
    """Serve ``https://localhost:<port>/...`` -> ``upstream``; yields the base URL (same path as upstream)."""
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    origin = httpx.URL(upstream)
    client = httpx.Client(timeout=30, trust_env=False)

    class Handler(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            if not secrets.compare_digest(self.headers.get("Authorization", ""), expected):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="registry"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED}
            url = f"{origin.scheme}://{origin.host}:{origin.port}{self.path}"
            answer = client.request(self.command, url, content=body, headers=headers)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = do_DELETE = _relay

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(keystore))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}{origin.path}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()
