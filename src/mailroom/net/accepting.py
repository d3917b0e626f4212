"""Accepting connections on listening sockets ourselves rather than through an asyncio
server, so that each connection is counted before anything is done with it: an
implicit-TLS listener's (before its handshake, listener.py) and the main process's for
its worker processes (handoff.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

log = logging.getLogger("mailroom.net")

ACCEPT_BURST = 64
"""Connections accepted per wake-up at most, so a flood cannot starve the event loop."""
PAUSE_SECONDS = 1.0
"""Out of file descriptors: accepting pauses this long (as asyncio's servers do)."""

Take = Callable[[socket.socket, object], None]
"""Given each accepted connection and its peer address; owns the connection from then."""


class Acceptor:
    """Accepts on listening sockets (our own duplicates of their descriptors: the event
    loop's socket objects cannot accept) and gives each connection to `take`."""

    def __init__(self, name: str, take: Take) -> None:
        self.name = name
        self._take = take
        self._sockets: list[socket.socket] = []

    def listen(self, sockets: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        for bound in sockets:
            sock = socket.socket(fileno=os.dup(bound.fileno()))
            sock.setblocking(False)
            self._sockets.append(sock)
            loop.add_reader(sock.fileno(), self._accept, sock)

    def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()

    def _accept(self, sock: socket.socket) -> None:
        for _ in range(ACCEPT_BURST):
            try:
                connection, peer = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as error:  # out of file descriptors
                log.error("%s: cannot accept: %s; pausing for a second", self.name, error)
                loop = asyncio.get_running_loop()
                loop.remove_reader(sock.fileno())
                loop.call_later(PAUSE_SECONDS, self._resume, sock)
                return
            self._take(connection, peer)

    def _resume(self, sock: socket.socket) -> None:
        if sock in self._sockets:
            asyncio.get_running_loop().add_reader(sock.fileno(), self._accept, sock)
