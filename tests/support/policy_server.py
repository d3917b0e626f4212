"""An HTTPS server for MTA-STS policies in tests: the standard library's http.server in a
thread, on 127.0.0.1 and an ephemeral port, with a certificate from the test CA.
Answers GET by the Host header from `files`; records what it was asked."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Served:
    status: int
    content_type: str
    body: bytes


@dataclass
class PolicyServer:
    files: dict[tuple[str, str], Served] = field(default_factory=dict)
    """(host, path) -> what to answer."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0

    def policy(self, domain: str, text: str, content_type: str = "text/plain") -> None:
        self.files[(f"mta-sts.{domain}", "/.well-known/mta-sts.txt")] = Served(
            200, content_type, text.encode()
        )


@contextmanager
def policy_server(context: ssl.SSLContext) -> Iterator[PolicyServer]:
    state = PolicyServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = self.headers.get("Host", "")
            state.requests.append((host, self.path))
            served = state.files.get((host, self.path), Served(404, "text/plain", b"none\n"))
            self.send_response(served.status)
            self.send_header("Content-Type", served.content_type)
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class TlsServer(ThreadingHTTPServer):
        # The TLS handshake runs in the connection's own thread, bounded by a timeout:
        # done in accept() it would hold up serve_forever (and shutdown) for as long as
        # a client that gave up stays silent. Nothing waits for connection threads.
        daemon_threads = True
        block_on_close = False

        def finish_request(self, request: Any, client_address: Any) -> None:
            request.settimeout(10)
            try:
                encrypted = context.wrap_socket(request, server_side=True)
            except OSError:
                return  # e.g. the client refused our certificate
            self.RequestHandlerClass(encrypted, client_address, self)

    server = TlsServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
