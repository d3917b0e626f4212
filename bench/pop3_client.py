"""A lean blocking POP3 client for the POP3 benchmark (bench/pop3_bench.py).

Why not poplib: it reads a RETR answer line by line in Python (a readline, a
dot check and a list append per line), which for thousands of messages costs the
client more CPU than some servers spend answering. This client reads the socket
in large pieces into one buffer and finds the end of a multi-line answer by
searching for ``CRLF . CRLF`` in it (RFC 1939 §3), so its cost per message is a
few C-level searches, not a Python loop per line.

It does the least the benchmark needs: send a command, check the status line
begins with ``+OK`` (raising ``Pop3Error`` with the server's words otherwise),
and for multi-line answers return the body still dot-stuffed (the benchmark only
counts its bytes; ``unstuffed_length`` gives the message's size). Pipelining
(RFC 2449 §6.6) is the caller's choice: ``send`` several commands, then read as
many answers. It speaks only to the address it is given, which the benchmark has
already checked is loopback; every read is bounded by the socket's timeout.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence

RECV_SIZE = 256 * 1024
MAX_STATUS_LINE = 4096  # RFC 2449 §4 allows 512 octets; more means the stream is lost
END_OF_ANSWER = b"\r\n.\r\n"  # the CRLF ending the last line, then the "." line
EMPTY_BODY = b".\r\n"  # a multi-line answer with no lines: the "." line at once


class Pop3Error(Exception):
    """The server answered -ERR, closed the connection, or said something unexpected."""


class Pop3Connection:
    """One POP3 session over a blocking TCP socket, with its own read buffer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        self._start = 0  # where the unread part of _buffer begins
        self.received_bytes = 0
        self.reads = 0  # recv calls: how finely the server cut its answers, and client work

    @classmethod
    def open(cls, host: str, port: int, timeout: float) -> tuple[Pop3Connection, bytes]:
        """Connect and read the greeting; returns the connection and the greeting line."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = cls(sock)
        try:
            greeting = conn.read_status("greeting")
        except BaseException:
            conn.abort()
            raise
        return conn, greeting

    # ----------------------------------------------------------------- commands

    def send(self, *commands: str) -> None:
        """Send one or more command lines in one write (several only if pipelining)."""
        self.sock.sendall("".join(f"{c}\r\n" for c in commands).encode())

    def command(self, text: str) -> bytes:
        """A single-line command; returns its +OK line (without CRLF)."""
        self.send(text)
        return self.read_status(redact(text))

    def multiline(self, text: str) -> bytes:
        """A multi-line command (CAPA, UIDL, LIST, RETR); returns the body, still dot-stuffed,
        each line with its CRLF, without the final "." line."""
        self.send(text)
        return self.read_multiline(text)

    def login(self, user: str, password: str) -> None:
        """USER and PASS (RFC 1939 §7)."""
        self.command(f"USER {user}")
        self.command(f"PASS {password}")

    def capabilities(self) -> frozenset[str]:
        """CAPA (RFC 2449 §5): the capability names, upper case, without arguments."""
        body = self.multiline("CAPA")
        return frozenset(
            line.split(maxsplit=1)[0].decode("ascii", "replace").upper()
            for line in body.split(b"\r\n")
            if line.strip()
        )

    def stat(self) -> tuple[int, int]:
        """STAT: (messages, octets) of the maildrop."""
        words = self.command("STAT").split()
        if len(words) < 3 or not (words[1].isdigit() and words[2].isdigit()):
            raise Pop3Error(f"STAT: unexpected answer {b' '.join(words)[:200]!r}")
        return int(words[1]), int(words[2])

    def quit(self) -> bytes:
        """QUIT: the +OK line, sent once the server has applied the deletions (RFC 1939 §6)."""
        return self.command("QUIT")

    # ----------------------------------------------------------------- reading

    def read_status(self, what: str) -> bytes:
        """The next status line; raises unless it begins with +OK."""
        line = self._read_line(what)
        if not line.startswith(b"+OK"):
            raise Pop3Error(f"{what}: {line[:200].decode('utf-8', 'replace')}")
        return line

    def read_multiline(self, what: str) -> bytes:
        """A +OK status line and the multi-line body after it (see ``multiline``)."""
        self.read_status(redact(what))
        body_start = self._start
        while len(self._buffer) - body_start < len(EMPTY_BODY):
            self._receive(what)
        # A body's first line never is a lone "." (it would be stuffed to ".."), so this
        # is an empty body; otherwise the answer ends at the first CRLF "." CRLF.
        if self._buffer.startswith(EMPTY_BODY, body_start):
            self._consume(body_start + len(EMPTY_BODY))
            return b""
        search_from = body_start
        while True:
            end = self._buffer.find(END_OF_ANSWER, search_from)
            if end >= 0:
                break
            search_from = max(body_start, len(self._buffer) - len(END_OF_ANSWER) + 1)
            self._receive(what)
        body = bytes(self._buffer[body_start : end + 2])
        self._consume(end + len(END_OF_ANSWER))
        return body

    def _read_line(self, what: str) -> bytes:
        search_from = self._start
        while True:
            end = self._buffer.find(b"\r\n", search_from)
            if end >= 0:
                break
            if len(self._buffer) - self._start > MAX_STATUS_LINE:
                raise Pop3Error(f"{what}: status line over {MAX_STATUS_LINE} bytes")
            search_from = max(self._start, len(self._buffer) - 1)
            self._receive(what)
        line = bytes(self._buffer[self._start : end])
        self._consume(end + 2)
        return line

    def _receive(self, what: str) -> None:
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except TimeoutError:
            raise Pop3Error(f"{what}: no answer within {self.sock.gettimeout()} s") from None
        if not chunk:
            raise Pop3Error(f"{what}: the server closed the connection")
        self.received_bytes += len(chunk)
        self.reads += 1
        self._buffer += chunk

    def _consume(self, position: int) -> None:
        self._start = position
        # Drop what has been read once it is most of the buffer: one copy of the rest,
        # instead of a copy per answer.
        if self._start > RECV_SIZE and self._start * 2 > len(self._buffer):
            del self._buffer[: self._start]
            self._start = 0

    # ----------------------------------------------------------------- closing

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def abort(self) -> None:
        """Drop the connection without QUIT: a POP3 server then deletes nothing."""
        self.close()


def unstuffed_length(body: bytes) -> int:
    """The length of a dot-stuffed body once each line's added "." is taken away."""
    return len(body) - body.count(b"\r\n..") - body.startswith(b"..")


def uidl_lines(body: bytes) -> Sequence[bytes]:
    """The "n unique-id" lines of a UIDL answer's body."""
    return [line for line in body.split(b"\r\n") if line]


def redact(command: str) -> str:
    """A command as it may appear in an error message: no password."""
    return "PASS ***" if command.upper().startswith("PASS ") else command
