"""Handing accepted connections from the main process to worker processes.

With worker processes (`[server] workers`), the main process accepts the IMAP and POP3
connections itself and passes each, as a file descriptor over a Unix socket pair
(SCM_RIGHTS), to the worker with the fewest open connections; the worker runs the
session (implicit TLS included) as if it had accepted it. Letting the workers accept on
a shared listening socket was simpler but measured badly: the kernel wakes every
worker, and the same one wins nearly every race, so ten clients landed on one worker
and the second core stayed idle. Handing off balances by what is open, costs the main
process one accept and one sendmsg per connection, and keeps the listening sockets in
one process (no port race, nothing to re-bind when a worker restarts).

Because every connection passes here, the listener's `max_connections` and
`max_connections_per_ip` are counted here, for the whole host, and so are the host's
`[limits]` (`HostConnections`, shared with the main process's own listeners, so one
address's SMTP, IMAP and POP3 connections count together): a connection over a limit
is still handed to a worker, marked, so that it is refused in the protocol's words,
except on an implicit-TLS listener, where it is closed here before any TLS work. The
worker tells (`Handoff.closed`, over its link) when each connection it was
handed is closed; a dead worker's connections are forgotten with it.

The handed sockets live in the workers (the main process closes its copy once sent),
so the host's cap is what the workers' descriptors allow, not the main process's
(`SharedConnections`, app/process_limits.py): each worker is handed at most its
`capacity` (said when it is ready: what its open-file limit holds); when every worker
is full, a connection is refused as over `max_connections`.

A handoff message is `listener-name LF id LF refusal` (refusal: empty or a `Refusal`
name) with one descriptor; the worker parses it as input like any other.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from mailroom.config import Listener, TlsMode
from mailroom.net.accepting import ACCEPT_BURST, Acceptor
from mailroom.net.client_groups import client_group
from mailroom.net.edge_limits import UNLIMITED, EdgeLimits, HostConnections, Refusal

log = logging.getLogger("mailroom.net")

MAX_MESSAGE = 512
"""Longest handoff message in bytes."""


class HandoffError(ValueError):
    """A handoff message that is not one."""


@dataclass(frozen=True)
class Handed:
    """What a worker is told with a connection."""

    listener: str
    ident: int
    refusal: Refusal | None

    def encode(self) -> bytes:
        refusal = self.refusal.name if self.refusal is not None else ""
        return f"{self.listener}\n{self.ident}\n{refusal}".encode()


def parse_handed(message: bytes) -> Handed:
    """The handoff message of one connection; HandoffError if it is not one."""
    try:
        name, ident, refusal = message.decode("utf-8").split("\n")
    except (UnicodeDecodeError, ValueError):
        raise HandoffError("a handoff message has three lines") from None
    if not name or not ident.isascii() or not ident.isdigit() or len(ident) > 18:
        raise HandoffError("a handoff message needs a listener and a number")
    if refusal and refusal not in Refusal.__members__:
        raise HandoffError("a handoff message's refusal is unknown")
    return Handed(name, int(ident), Refusal[refusal] if refusal else None)


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """The main process's and the worker's ends of a handoff channel: one message per
    connection (SOCK_SEQPACKET keeps them apart), both non-inheritable."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


class SharedConnections(HostConnections):
    """The host's counts when worker processes serve some of its connections. `admit`
    and `release` (the main process's own listeners) also keep the connections the main
    process serves itself within `own_limit` (its descriptors'); `admit_handed` and
    `release_handed` count those handed to workers, which their capacity bounds."""

    def __init__(self, limits: EdgeLimits, own_limit: int | None = None) -> None:
        super().__init__(limits)
        self.own_limit = limits.max_connections if own_limit is None else own_limit
        self.own = 0

    def admit(self, group: str) -> Refusal | None:
        if self.own >= self.own_limit:
            return Refusal.TOO_MANY_CONNECTIONS
        refusal = super().admit(group)
        if refusal is None:
            self.own += 1
        return refusal

    def release(self, group: str) -> None:
        self.own -= 1
        super().release(group)

    def admit_handed(self, group: str) -> Refusal | None:
        return super().admit(group)

    def release_handed(self, group: str) -> None:
        super().release(group)


@dataclass
class _Target:
    channel: socket.socket
    ready: bool = False
    capacity: int | None = None
    """Connections it may be handed at most (None: not said)."""
    """Handed connections only once it serves (a starting worker would keep them waiting)."""
    handed: dict[int, tuple[str, str] | None] = field(default_factory=dict)
    """Open connections by id: (listener, client group) if counted, None if refused."""


class Handoff:
    """The main process's side: accepts on listening sockets, counts, hands out."""

    def __init__(
        self, listeners: list[Listener], connections: HostConnections | None = None
    ) -> None:
        self._limits = {listener.name: listener for listener in listeners}
        self._connections = connections or SharedConnections(UNLIMITED)
        """The host's counts, shared with the main process's own listeners."""
        self._targets: dict[int, _Target] = {}
        self._acceptors: list[Acceptor] = []
        self._ids = itertools.count(1)
        self._per_listener: Counter[str] = Counter()
        self._per_address: Counter[tuple[str, str]] = Counter()

    def add_worker(self, index: int, channel: socket.socket) -> None:
        """A worker, starting: it is handed connections once `ready(index)`."""
        channel.setblocking(False)
        self._targets[index] = _Target(channel)

    def ready(self, index: int, capacity: int | None = None) -> None:
        """Worker `index` serves now, up to `capacity` connections (None: no cap)."""
        if index in self._targets:
            self._targets[index].ready = True
            self._targets[index].capacity = capacity

    def remove_worker(self, index: int) -> None:
        """A worker is gone: its connections went with it."""
        target = self._targets.pop(index, None)
        if target is not None:
            target.channel.close()
            for ident in list(target.handed):
                self._forget(target, ident)

    def closed(self, index: int, idents: list[int]) -> None:
        """Worker `index` closed these connections."""
        target = self._targets.get(index)
        if target is not None:
            for ident in idents:
                self._forget(target, ident)

    def open_connections(self) -> dict[int, int]:
        """Connections open per worker, as far as the main process knows."""
        return {index: len(target.handed) for index, target in self._targets.items()}

    def listen(self, name: str, sockets: list[socket.socket]) -> None:
        """Accept on `sockets` (listening, of listener `name`) and hand out what comes."""
        acceptor = Acceptor(name, lambda connection, peer: self._accepted(name, connection, peer))
        acceptor.listen(sockets)
        self._acceptors.append(acceptor)

    def stop(self) -> None:
        """Accept no more (the workers keep their channels until they end)."""
        for acceptor in self._acceptors:
            acceptor.stop()
        self._acceptors.clear()

    def _forget(self, target: _Target, ident: int) -> None:
        counted = target.handed.pop(ident, None)
        if counted is not None:
            name = counted[0]
            self._per_listener[name] -= 1
            self._per_address[counted] -= 1
            if self._per_address[counted] <= 0:
                del self._per_address[counted]
            if self._per_listener[name] <= 0:
                del self._per_listener[name]
            self._release(counted[1])

    def _accepted(self, name: str, connection: socket.socket, peer: object) -> None:
        with connection:  # ours is closed once handed (or refused)
            self._hand(name, self._connections.limits.group(client_address(peer)), connection)

    def _admit(self, name: str, group: str) -> Refusal | None:
        """Why a connection of `group` is refused; None: counted for the host."""
        listener = self._limits.get(name)
        if listener is None:
            return None
        if self._per_listener[name] >= listener.max_connections:
            return Refusal.TOO_MANY_CONNECTIONS
        if self._per_address[name, group] >= listener.max_connections_per_ip:
            return Refusal.TOO_MANY_FROM_ADDRESS
        ready = [target for target in self._targets.values() if target.ready]
        if ready and not any(_has_room(target) for target in ready):
            return Refusal.TOO_MANY_CONNECTIONS  # every worker at its capacity
        connections = self._connections
        if isinstance(connections, SharedConnections):
            return connections.admit_handed(group)
        return connections.admit(group)

    def _release(self, group: str) -> None:
        connections = self._connections
        if isinstance(connections, SharedConnections):
            connections.release_handed(group)
        else:
            connections.release(group)

    def _hand(self, name: str, group: str, connection: socket.socket) -> None:
        """Pass the connection to the least busy worker that takes it; else drop it."""
        refusal = self._admit(name, group)
        listener = self._limits.get(name)
        if refusal is not None and listener is not None and listener.tls is TlsMode.IMPLICIT:
            log.info("%s: refused a client of %s before TLS: %s", name, group, refusal.value)
            return  # closed by the caller; a goodbye could only be read after a handshake
        ident = next(self._ids)
        message = Handed(name, ident, refusal).encode()
        ready = [target for target in self._targets.values() if target.ready]
        if refusal is None:  # counted: to a worker with room (a refusal: to any, for its BYE)
            ready = [target for target in ready if _has_room(target)]
        for target in sorted(ready, key=lambda target: len(target.handed)):
            try:
                socket.send_fds(target.channel, [message], [connection.fileno()])
            except OSError:
                continue  # that worker is stuck or gone: the next one
            if refusal is None:
                target.handed[ident] = (name, group)
                self._per_listener[name] += 1
                self._per_address[name, group] += 1
            else:
                target.handed[ident] = None
            return
        if refusal is None:
            self._release(group)
        log.warning("%s: no worker takes connections: closed one", name)


def _has_room(target: _Target) -> bool:
    return target.capacity is None or len(target.handed) < target.capacity


def client_address(peer: object) -> str:
    """The client's address: an IPv4-mapped IPv6 address as the IPv4 one (the group it
    is counted in is `EdgeLimits.group` of it)."""
    host = peer[0] if isinstance(peer, tuple) and peer else ""
    return client_group(str(host), 128)


Adopt = Callable[[socket.socket, Handed], None]
"""Serves (or refuses) one handed connection."""


class HandoffReceiver:
    """A worker's side: receives connections and gives each to `adopt`."""

    def __init__(self, channel: socket.socket, adopt: Adopt) -> None:
        self._channel = channel
        self._adopt = adopt
        self.ended = asyncio.get_running_loop().create_future()
        """Done when the main process closed the channel."""

    def start(self) -> None:
        self._channel.setblocking(False)
        asyncio.get_running_loop().add_reader(self._channel.fileno(), self._receive)

    def stop(self) -> None:
        if self._channel.fileno() >= 0:
            asyncio.get_running_loop().remove_reader(self._channel.fileno())
            self._channel.close()

    def _receive(self) -> None:
        for _ in range(ACCEPT_BURST):
            try:
                message, descriptors, _, _ = socket.recv_fds(self._channel, MAX_MESSAGE, 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                log.error("the main process's channel failed: %s", error)
                message, descriptors = b"", []
            if not message and not descriptors:
                self.stop()
                if not self.ended.done():
                    self.ended.set_result(None)
                return
            self._take(message, descriptors)

    def _take(self, message: bytes, descriptors: list[int]) -> None:
        try:
            handed = parse_handed(message)
        except HandoffError as error:
            log.error("a bad handoff from the main process: %s", error)
            for descriptor in descriptors:
                os.close(descriptor)
            return
        for descriptor in descriptors:
            self._adopt(socket.socket(fileno=descriptor), handed)
