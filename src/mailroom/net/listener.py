"""Listening sockets: accept, apply the allow-list and connection limits, do implicit
TLS, and hand each connection to its protocol's session.

Every protocol server implements `SessionHandler`; nothing here knows a protocol.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from mailroom.config import Listener, TlsMode
from mailroom.metrics import (
    CONNECTIONS,
    CONNECTIONS_REFUSED,
    SESSIONS_OPEN,
    TLS_HANDSHAKE_FAILURES,
)
from mailroom.net.accepting import Acceptor
from mailroom.net.connection import Connection, ConnectionClosed, _StreamProtocol
from mailroom.net.edge_limits import UNLIMITED, HostConnections, Refusal
from mailroom.net.tls import TlsContexts

log = logging.getLogger("mailroom.net")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

BACKLOG = 511
"""Connections the kernel keeps waiting for an accept (Linux caps it at somaxconn)."""
REFUSAL_SECONDS = 10
"""Time a refused client gets to take its goodbye."""

__all__ = ["IPAddress", "ListeningServer", "Refusal", "SessionHandler", "in_networks"]


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
    """One listener running: its socket, its limits and its sessions.

    Limits are applied when a connection is accepted, before any protocol or TLS work:
    the allow-list, the listener's own caps and the host's (`connections`, shared by
    every listener of the process). A connection over a limit on an implicit-TLS port
    is closed at once (no handshake is spent on it, and no goodbye could be read before
    one); elsewhere the client is told in its protocol's words. Implicit TLS is then
    our own handshake on the accepted connection, counted against the host's cap on
    handshakes in progress and bounded by its timeout."""

    def __init__(
        self,
        listener: Listener,
        handler: SessionHandler,
        tls: TlsContexts | None,
        *,
        connections: HostConnections | None = None,
    ) -> None:
        self.listener = listener
        self.handler = handler
        self.tls = tls
        self.connections = connections or HostConnections(UNLIMITED)
        """The host's counts (this process's), shared with its other listeners."""
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._open = 0
        self._per_group: Counter[str] = Counter()
        self._handshakes: set[asyncio.Task[None]] = set()
        """Connections before their session (a handshake, a worker's adoption)."""
        self._acceptor = Acceptor(listener.name, self._accepted)
        """Accepts on an implicit-TLS listener (`_accept_implicit`)."""
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
        self._server = await loop.create_server(
            self._protocol_factory,
            host=None if host in {"*", ""} else host,
            port=self.listener.port,
            reuse_address=True,
            backlog=BACKLOG,
            start_serving=serving and self._implicit_tls() is None,
        )
        if not serving or self._implicit_tls() is not None:
            # Listen now (asyncio would only at start_serving): connections wait in the
            # backlog from this moment on, for the workers' handoff (handoff.py).
            for bound in self._server.sockets:
                with socket.fromfd(bound.fileno(), bound.family, bound.type) as copy:
                    copy.listen(BACKLOG)
        if serving and self._implicit_tls() is not None:
            self._accept_implicit()

    async def start_serving(self) -> None:
        """Accept on the sockets `start(serving=False)` bound (once the server has
        become its service user)."""
        if self._server is None:
            return
        if self._implicit_tls() is not None:
            self._accept_implicit()
        else:
            await self._server.start_serving()

    def _implicit_tls(self) -> ssl.SSLContext | None:
        if self.listener.tls is TlsMode.IMPLICIT and self.tls is not None:
            return self.tls.for_listener(self.listener.name)
        return None

    def _accept_implicit(self) -> None:
        """Accept on an implicit-TLS listener ourselves: asyncio's server would start the
        handshake of every connection before we could count it."""
        self._acceptor.listen(self.sockets)

    def _accepted(self, connection: socket.socket, peer: object) -> None:
        self._take(connection, None, _nothing, counted_elsewhere=False)

    def adopt(
        self,
        connection: socket.socket,
        *,
        refusal: Refusal | None = None,
        released: Callable[[], None] = lambda: None,
    ) -> None:
        """Serve a connection another process accepted and counted for the host (a
        worker's, see handoff.py), or refuse it with `refusal` if that process counted
        too many; `released` is called when it is closed."""
        self._take(connection, refusal, released, counted_elsewhere=True)

    def _take(
        self,
        connection: socket.socket,
        refusal: Refusal | None,
        released: Callable[[], None],
        *,
        counted_elsewhere: bool,
    ) -> None:
        """An accepted socket: on an implicit-TLS listener counted (or closed) now,
        before the handshake; then given to the event loop."""
        group = None
        if self._implicit_tls() is not None:
            peer = _peer_address(connection)
            refusal, group = self._admit(peer, refusal, counted_elsewhere=counted_elsewhere)
            if refusal is not None:
                log.info("%s: refused [%s] before TLS: %s", self.listener.name, peer, refusal.value)
                CONNECTIONS_REFUSED.labels(self.listener.protocol.value, refusal.name.lower()).inc()
                connection.close()
                released()
                return
        task = asyncio.get_running_loop().create_task(
            self._connect(connection, refusal, released, group, counted_elsewhere)
        )
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)

    async def _connect(
        self,
        connection: socket.socket,
        refusal: Refusal | None,
        released: Callable[[], None],
        group: str | None,
        counted_elsewhere: bool,
    ) -> None:
        implicit = self._implicit_tls()
        name = self.listener.name

        def lost() -> None:
            connection.close()
            if group is not None:
                self._release(group, counted_elsewhere=counted_elsewhere)
            released()

        if implicit is not None and not self.connections.start_handshake():
            log.info("%s: refused a client: %s", name, Refusal.TOO_MANY_HANDSHAKES.value)
            CONNECTIONS_REFUSED.labels(
                self.listener.protocol.value, Refusal.TOO_MANY_HANDSHAKES.name.lower()
            ).inc()
            lost()
            return
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: _AcceptingProtocol(
                    self, refusal, released, counted_elsewhere=counted_elsewhere, group=group
                ),
                connection,
                ssl=implicit,
                ssl_handshake_timeout=self.connections.limits.tls_handshake_timeout
                if implicit
                else None,
            )
        except (OSError, ssl.SSLError, TimeoutError) as error:
            # RFC 8314 §3.3: no TLS, no session. Logged: a flood of these is an attack.
            log.info("%s: no TLS session with a client: %s", name, error or type(error).__name__)
            TLS_HANDSHAKE_FAILURES.labels(name, "implicit").inc()
            lost()
        except asyncio.CancelledError:
            lost()
            raise
        finally:
            if implicit is not None:
                self.connections.end_handshake()

    def _protocol_factory(self) -> asyncio.Protocol:
        return _AcceptingProtocol(self)

    def session_started(self, transport: asyncio.Transport, protocol: _AcceptingProtocol) -> None:
        """A connection is ready for its session (implicit TLS done): count it, or
        refuse it, unless it was counted before its handshake."""
        listener = self.listener
        limits = self.connections.limits
        connection = Connection(
            transport,
            protocol,
            listener.idle_timeout_seconds,
            listener.name,
            limits.deadlines,
            limits.tls_handshake_timeout,
        )
        refusal: Refusal | None
        group: str | None
        if protocol.group is not None:
            refusal, group = None, protocol.group
        else:
            refusal, group = self._admit(
                connection.peer_ip, protocol.refusal, counted_elsewhere=protocol.counted_elsewhere
            )
        task = asyncio.get_running_loop().create_task(
            self._run(connection, protocol, refusal, group)
        )
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)

    def _admit(
        self, address: IPAddress, refusal: Refusal | None, *, counted_elsewhere: bool
    ) -> tuple[Refusal | None, str | None]:
        """Why a connection from `address` is refused (`refusal`: the accepting
        process's answer), or the client group it is now counted under."""
        if refusal is not None:
            return refusal, None  # counted by the process that accepted it
        listener = self.listener
        if listener.allow_networks and not in_networks(address, listener.allow_networks):
            return Refusal.NOT_ALLOWED, None
        group = self.connections.limits.group(address)
        if self._open >= listener.max_connections:
            return Refusal.TOO_MANY_CONNECTIONS, None
        if self._per_group[group] >= listener.max_connections_per_ip:
            return Refusal.TOO_MANY_FROM_ADDRESS, None
        if not counted_elsewhere:
            refused = self.connections.admit(group)
            if refused is not None:
                return refused, None
        self._open += 1
        self._per_group[group] += 1
        return None, group

    def _release(self, group: str, *, counted_elsewhere: bool) -> None:
        self._open -= 1
        self._per_group[group] -= 1
        if self._per_group[group] <= 0:
            del self._per_group[group]
        if not counted_elsewhere:
            self.connections.release(group)

    async def _run(
        self,
        connection: Connection,
        protocol: _AcceptingProtocol,
        refusal: Refusal | None,
        group: str | None,
    ) -> None:
        listener = self.listener
        protocol_name = listener.protocol.value
        try:
            if refusal is not None:
                log.info("%s: refused %s: %s", listener.name, connection.peer, refusal.value)
                CONNECTIONS_REFUSED.labels(protocol_name, refusal.name.lower()).inc()
                if refusal is not Refusal.NOT_ALLOWED:
                    goodbye = self.handler.refuse(connection, refusal)
                    await asyncio.wait_for(goodbye, REFUSAL_SECONDS)
                return
            CONNECTIONS.labels(protocol_name).inc()
            with SESSIONS_OPEN.labels(protocol_name).track_inprogress():
                await self.handler.handle(connection)
        except (ConnectionClosed, TimeoutError, OSError):
            pass
        except Exception:
            log.exception(
                "%s: session with %s ended by an unexpected error", listener.name, connection.peer
            )
        finally:
            if group is not None:
                self._release(group, counted_elsewhere=protocol.counted_elsewhere)
            connection.close()
            protocol.released()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting; give sessions `grace` seconds, then cancel them."""
        self._acceptor.stop()
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


def _peer_address(connection: socket.socket) -> IPAddress:
    try:
        host = str(connection.getpeername()[0])
    except (OSError, IndexError):
        host = "0.0.0.0"  # noqa: S104 - a client already gone; counted as one
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return ipaddress.ip_address("0.0.0.0")  # noqa: S104 - not an IP peer (never on TCP)


class _AcceptingProtocol(_StreamProtocol):
    def __init__(
        self,
        server: ListeningServer,
        refusal: Refusal | None = None,
        released: Callable[[], None] = _nothing,
        *,
        counted_elsewhere: bool = False,
        group: str | None = None,
    ) -> None:
        super().__init__()
        self._server = server
        self.refusal = refusal
        """Refuse at once: the accepting process found too many connections."""
        self.released = released
        """Called when the connection is closed."""
        self.counted_elsewhere = counted_elsewhere
        """The accepting process counted it for the host (a worker's handed connection)."""
        self.group = group
        """Counted already, under this client group (before its implicit-TLS handshake)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self._server.session_started(self.transport, self)
