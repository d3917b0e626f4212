"""Acknowledging a client's bytes at once (TCP_QUICKACK), where waiting would stall it.

After a server answers, Linux delays its ACKs. A client that sends the rest of a
command in a second write (imaplib sends an APPEND's literal, then its line end;
Nagle on) has that write held until the first is acknowledged: 40 ms per command on
loopback. Dovecot sets TCP_QUICKACK after every answer; `Connection` sets it only where
a command or literal is part-way here, since under uvloop each call builds a socket
object (1.5 % of a worker's CPU under imap_load.py when set after every answer). The
kernel clears the flag by itself, so it is set each time; setting it also sends the ACK
that was being held back. bench/imap_sync_literal.py measures it.
"""

from __future__ import annotations

import asyncio
import socket
from typing import cast

_TCP_QUICKACK: int = getattr(socket, "TCP_QUICKACK", 0)  # 0: not on this system


class QuickAck:
    """TCP_QUICKACK on the TCP socket under one transport (under TLS too)."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._socket: socket.socket | None = None
        if _TCP_QUICKACK:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                self._socket = cast(socket.socket, sock)

    def now(self) -> None:
        """Acknowledge what has arrived at once; nothing on a socket that cannot."""
        if self._socket is None:
            return
        try:
            self._socket.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            self._socket = None
