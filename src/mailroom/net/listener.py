"""Listening sockets: accept, apply the allow-list and connection limits, do implicit
TLS, and hand each connection to its protocol's session.

Every protocol server implements `SessionHandler`; nothing here knows a protocol.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from mailroom.config import Listener, TlsMode
from mailroom.net.connection import Connection, ConnectionClosed, _StreamProtocol
from mailroom.net.tls import TlsContexts

log = logging.getLogger("mailroom.net")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Seconds a client has to finish a TLS handshake.
HANDSHAKE_TIMEOUT = 30.0
BACKLOG = 511
"""Connections the kernel keeps waiting for an accept (Linux caps it at somaxconn)."""


class Refusal(enum.Enum):
    NOT_ALLOWED = "client network not allowed"
    TOO_MANY_CONNECTIONS = "too many connections"
    TOO_MANY_FROM_ADDRESS = "too many connections from this address"


class SessionHandler(Protocol):
    """What a protocol server gives the listener."""

    async def handle(self, connection: Connection) -> None:
        """Run one session to its end. Called with implicit TLS already done."""

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        """Say goodbye in the protocol's words (SMTP 421, IMAP * BYE, ...)."""

    def stopping(self) -> None:
        """The server is stopping: end sessions that are only waiting for the client
        (an IMAP client in IDLE would otherwise hold the shutdown for the whole grace)."""


def in_networks(
    address: IPAddress, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class ListeningServer:
    """One listener running: its socket, its limits and its sessions."""

    def __init__(
        self, listener: Listener, handler: SessionHandler, tls: TlsContexts | None
    ) -> None:
        self.listener = listener
        self.handler = handler
        self.tls = tls
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._per_address: Counter[IPAddress] = Counter()
        self._handshakes: set[asyncio.Task[None]] = set()
        if listener.tls is not TlsMode.NONE and tls is None:
            raise ValueError(f"listener {listener.name} needs TLS contexts")

    @property
    def sockets(self) -> list[socket.socket]:
        return list(self._server.sockets) if self._server else []

    @property
    def port(self) -> int:
        """The bound port (useful when the config asked for port 0 in tests)."""
        return int(self.sockets[0].getsockname()[1])

    async def start(self, *, serving: bool = True) -> None:
        """Bind and listen; accept too unless `serving` is False (the main process of a
        host with workers binds the IMAP and POP3 sockets for its workers to accept on)."""
        loop = asyncio.get_running_loop()
        host = self.listener.host
        implicit = self._implicit_tls()
        # Implicit TLS is the event loop's own: the handshake is done before the session
        # starts, and no byte of the ClientHello can be read by anyone else first.
        self._server = await loop.create_server(
            self._protocol_factory,
            host=None if host in {"*", ""} else host,
            port=self.listener.port,
            reuse_address=True,
            backlog=BACKLOG,
            ssl=implicit,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT if implicit else None,
            start_serving=serving,
        )
        if not serving:
            # Listen now (asyncio would only at start_serving): connections wait in the
            # backlog from this moment on, for the workers' handoff (handoff.py).
            for bound in self._server.sockets:
                with socket.fromfd(bound.fileno(), bound.family, bound.type) as copy:
                    copy.listen(BACKLOG)

    async def start_serving(self) -> None:
        """Accept on the sockets `start(serving=False)` bound (once the server has
        become its service user)."""
        if self._server is not None:
            await self._server.start_serving()

    def _implicit_tls(self) -> ssl.SSLContext | None:
        if self.listener.tls is TlsMode.IMPLICIT and self.tls is not None:
            return self.tls.for_listener(self.listener.name)
        return None

    def adopt(
        self,
        connection: socket.socket,
        *,
        refusal: Refusal | None = None,
        released: Callable[[], None] = lambda: None,
    ) -> None:
        """Serve a connection another process accepted (a worker's, see handoff.py),
        or refuse it with `refusal` if that process counted too many; `released` is
        called when it is closed."""
        task = asyncio.get_running_loop().create_task(self._connect(connection, refusal, released))
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)

    async def _connect(
        self, connection: socket.socket, refusal: Refusal | None, released: Callable[[], None]
    ) -> None:
        implicit = self._implicit_tls()
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: _AcceptingProtocol(self, refusal, released),
                connection,
                ssl=implicit,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT if implicit else None,
            )
        except (OSError, ssl.SSLError, TimeoutError) as error:
            log.debug("%s: connection lost before its session: %s", self.listener.name, error)
            connection.close()
            released()
        except asyncio.CancelledError:
            connection.close()
            released()
            raise

    def _protocol_factory(self) -> asyncio.Protocol:
        protocol = _AcceptingProtocol(self)
        return protocol

    def session_started(self, transport: asyncio.Transport, protocol: _AcceptingProtocol) -> None:
        task = asyncio.get_running_loop().create_task(self._run(transport, protocol))
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)

    async def _run(self, transport: asyncio.Transport, protocol: _AcceptingProtocol) -> None:
        listener = self.listener
        connection = Connection(transport, protocol, listener.idle_timeout_seconds, listener.name)
        address = connection.peer_ip
        refusal = protocol.refusal
        if refusal is not None:
            pass  # counted by the process that accepted it (handoff.py)
        elif listener.allow_networks and not in_networks(address, listener.allow_networks):
            refusal = Refusal.NOT_ALLOWED
        elif len(self._sessions) > listener.max_connections:
            refusal = Refusal.TOO_MANY_CONNECTIONS
        elif self._per_address[address] >= listener.max_connections_per_ip:
            refusal = Refusal.TOO_MANY_FROM_ADDRESS
        if refusal is not None:
            log.info("%s: refused %s: %s", listener.name, connection.peer, refusal.value)
            try:
                if refusal is not Refusal.NOT_ALLOWED:
                    await asyncio.wait_for(self.handler.refuse(connection, refusal), 10)
            except (ConnectionClosed, TimeoutError, OSError):
                pass
            finally:
                connection.close()
                protocol.released()
            return
        self._per_address[address] += 1
        try:
            await self.handler.handle(connection)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception(
                "%s: session with %s ended by an unexpected error", listener.name, connection.peer
            )
        finally:
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]
            connection.close()
            protocol.released()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting; give sessions `grace` seconds, then cancel them."""
        if self._server is not None:
            self._server.close()
        for task in self._handshakes:
            task.cancel()
        self.handler.stopping()
        if self._sessions:
            _, pending = await asyncio.wait(set(self._sessions), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)
        if self._server is not None:
            await self._server.wait_closed()


def _nothing() -> None:
    return None


class _AcceptingProtocol(_StreamProtocol):
    def __init__(
        self,
        server: ListeningServer,
        refusal: Refusal | None = None,
        released: Callable[[], None] = _nothing,
    ) -> None:
        super().__init__()
        self._server = server
        self.refusal = refusal
        """Refuse at once: the accepting process found too many connections."""
        self.released = released
        """Called when the connection is closed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self._server.session_started(self.transport, self)
