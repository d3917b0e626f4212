"""The web listener: uvicorn's HTTP/1.1 server (h11) run inside the host's event loop, on
a socket the host binds, with the host's TLS context.

Two things uvicorn does not do are done here, by configuring it rather than copying it:
- no ASGI server passes the client's certificate to the application (uvicorn PRs
  #3132/#3133 are open): `TlsH11Protocol` puts the ASGI TLS extension
  (`scope["extensions"]["tls"]`, with `client_cert_chain` as PEM) into every request's
  scope, read from the connection's SSL object;
- `Server.serve()` installs its own SIGINT/SIGTERM handlers, which would take the host's:
  the server is started with `startup()` and its `main_loop()` (which keeps the Date
  header current), and stopped by the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from mailroom.config import Listener

log = logging.getLogger("mailroom.web")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_HEADER_BYTES = 64 * 1024
"""Largest request head (h11's incomplete-event limit): an oversized one is answered 431."""
MAX_CONNECTIONS = 200
"""Requests handled at once per web listener; more are answered 503 (uvicorn's
limit_concurrency): the admin and self-service pages serve a few people at a time."""
KEEP_ALIVE_SECONDS = 30
"""An idle keep-alive connection is closed after this long."""
STOP_SECONDS = 5
"""On stop, requests in progress get this long to finish."""


def tls_extension(transport: asyncio.BaseTransport) -> dict[str, Any] | None:
    """The ASGI TLS extension of a connection (None without TLS): the client's certificate
    as PEM in `client_cert_chain` (empty when it sent none), the TLS version."""
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    version = ssl_object.version()
    cipher = ssl_object.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(version or ""),
        "cipher_suite": None,
        "cipher_name": cipher[0] if cipher else None,
    }


_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


Admission = Callable[[dict[str, Any], str], Awaitable[str | None]]
"""For a listener that lets in only some certificates: given a connection's TLS extension
and the client's address, the account the connection is let in as, or None to close it
without an answer (asked once per connection, before its first request is served)."""
ADMISSION_SECONDS = 60
"""A kept-alive connection's certificate is admitted again after this long, so that a
CRL replaced meanwhile closes it too."""
ADMITTED = "mailroom.admitted"
"""The scope key under which a request of an admitted connection carries its account."""


class TlsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with the ASGI TLS extension in each request's scope, and,
    when the class has an `admission`, connections it refuses closed unanswered."""

    admissions: ClassVar[tuple[Admission, ...]] = ()
    """The admission of the listener (one at most; a tuple so it stays a plain value)."""

    @classmethod
    def admitting(cls, admission: Admission) -> type[TlsH11Protocol]:
        """This protocol with `admission` deciding which connections get an answer."""
        return type("AdmittingH11Protocol", (cls,), {"admissions": (admission,)})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvloop leaves Nagle on for the sockets uvicorn is given: each response then
        # waits for the client's delayed ACK (measured: 44 ms per request, 1 ms without).
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        extension = tls_extension(transport)
        if extension is None:
            if self.admissions:  # no TLS, no certificate: nothing to admit
                transport.abort()
            return
        app: Asgi = self.app
        admission = self.admissions[0] if self.admissions else None
        client = self.client[0] if self.client else ""
        admitted: dict[str, Any] = {}

        async def with_tls(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("extensions", {})["tls"] = extension
            if admission is not None:
                now = time.monotonic()
                if not admitted or now - admitted["at"] > ADMISSION_SECONDS:
                    admitted.update(account=await admission(extension, client), at=now)
                if admitted["account"] is None:
                    await _close_unanswered(transport, receive)
                    return
                scope[ADMITTED] = admitted["account"]
            await app(scope, receive, send)

        self.app = with_tls


async def _close_unanswered(transport: asyncio.Transport, receive: Receive) -> None:
    """Drop the connection without a response: the client gets no page, not even an error
    page (uvicorn sends its own 500 unless it has seen the disconnect, hence the wait)."""
    transport.abort()
    while (await receive())["type"] != "http.disconnect":
        pass


class WebServer:
    """One `web` listener running the host's web application. Has what the host asks of
    every listener: `listener`, `start()`, `stop()`, `port`, `sockets`."""

    def __init__(
        self,
        listener: Listener,
        app: Asgi,
        tls: ssl.SSLContext | None,
        *,
        admission: Admission | None = None,
    ) -> None:
        """`admission`: which connections get an answer at all (see `Admission`)."""
        self.listener = listener
        self.app = app
        self._config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            http=TlsH11Protocol if admission is None else TlsH11Protocol.admitting(admission),
            ws="none",
            interface="asgi3",
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=STOP_SECONDS,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        )
        self._config.load()
        self._config.ssl = tls
        self._server = uvicorn.Server(self._config)
        self._socket: socket.socket | None = None
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def sockets(self) -> list[socket.socket]:
        return [self._socket] if self._socket is not None else []

    @property
    def port(self) -> int:
        return int(self.sockets[0].getsockname()[1])

    async def start(self, *, serving: bool = True) -> None:
        """Bind the listener's address; serve too unless `serving` is False (a host started
        as root binds first and serves once it is its service user: `start_serving`)."""
        self._socket = bind(self.listener)
        if serving:
            await self.start_serving()

    async def start_serving(self) -> None:
        # What `Server._serve` does before `startup`, without its signal handlers.
        self._server.lifespan = self._config.lifespan_class(self._config)
        await self._server.startup(sockets=self.sockets)
        self._loop_task = asyncio.create_task(self._server.main_loop())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
            await self._server.shutdown(sockets=self.sockets)
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def bind(listener: Listener) -> socket.socket:
    """A listening TCP socket on the listener's address (IPv6 in brackets; `[::]` takes
    IPv4 too, as the other listeners do); OSError if the address cannot be had."""
    host = listener.host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, listener.port))
        sock.listen(511)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
