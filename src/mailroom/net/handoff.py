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

The main process learns that a connection ended from the worker (`Handoff.closed`,
told over the worker's link), and forgets a dead worker's connections with it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("mailroom.net")

ACCEPT_BURST = 64
"""Connections accepted per wake-up at most, so a flood cannot starve the event loop."""
MAX_NAME = 255
"""Longest listener name in a handoff message."""


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """The main process's and the worker's ends of a handoff channel: one message per
    connection (SOCK_SEQPACKET keeps them apart), both non-inheritable."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


@dataclass
class _Target:
    channel: socket.socket
    open: int = 0


class Handoff:
    """The main process's side: accepts on listening sockets, hands connections out."""

    def __init__(self) -> None:
        self._targets: dict[int, _Target] = {}
        self._listening: list[socket.socket] = []

    def add_worker(self, index: int, channel: socket.socket) -> None:
        channel.setblocking(False)
        self._targets[index] = _Target(channel)

    def remove_worker(self, index: int) -> None:
        """A worker is gone: its connections went with it."""
        target = self._targets.pop(index, None)
        if target is not None:
            target.channel.close()

    def closed(self, index: int, count: int = 1) -> None:
        """Worker `index` ended `count` connections."""
        target = self._targets.get(index)
        if target is not None:
            target.open = max(0, target.open - count)

    def open_connections(self) -> dict[int, int]:
        """Connections open per worker, as far as the main process knows."""
        return {index: target.open for index, target in self._targets.items()}

    def listen(self, name: str, sockets: list[socket.socket]) -> None:
        """Accept on `sockets` (listening, of listener `name`) and hand out what comes."""
        loop = asyncio.get_running_loop()
        for bound in sockets:
            # Our own descriptor of it: the event loop's socket objects cannot accept().
            sock = socket.socket(fileno=os.dup(bound.fileno()))
            sock.setblocking(False)
            self._listening.append(sock)
            loop.add_reader(sock.fileno(), self._accept, name, sock)

    def stop(self) -> None:
        """Accept no more (the workers keep their channels until they end)."""
        loop = asyncio.get_running_loop()
        for sock in self._listening:
            loop.remove_reader(sock.fileno())
            sock.close()
        self._listening.clear()

    def _accept(self, name: str, sock: socket.socket) -> None:
        for _ in range(ACCEPT_BURST):
            try:
                connection, _ = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as error:  # out of file descriptors: pause, as asyncio does
                log.error("%s: cannot accept: %s; pausing for a second", name, error)
                loop = asyncio.get_running_loop()
                loop.remove_reader(sock.fileno())
                loop.call_later(1.0, loop.add_reader, sock.fileno(), self._accept, name, sock)
                return
            with connection:
                self._hand(name, connection)

    def _hand(self, name: str, connection: socket.socket) -> None:
        """Pass the connection to the least busy worker that takes it; else drop it."""
        for target in sorted(self._targets.values(), key=lambda target: target.open):
            try:
                socket.send_fds(target.channel, [name.encode()], [connection.fileno()])
            except (BlockingIOError, OSError):
                continue  # that worker is stuck or gone: the next one
            target.open += 1
            return
        log.warning("%s: no worker takes connections: closed one", name)


class HandoffReceiver:
    """A worker's side: receives connections and gives each to its listener's server."""

    def __init__(self, channel: socket.socket, adopt: dict[str, Callable[[socket.socket], None]]):
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
                message, descriptors, _, _ = socket.recv_fds(self._channel, MAX_NAME, 1)
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
            adopt = self._adopt.get(message.decode("utf-8", "replace"))
            for descriptor in descriptors:
                if adopt is None:
                    os.close(descriptor)
                    log.error("a connection for an unknown listener %.40r", message)
                    continue
                adopt(socket.socket(fileno=descriptor))
