"""Log lines to a remote syslog server over TCP with TLS (RFC 5425), from a thread of
their own, so logging never waits for the network.

`RemoteSyslogHandler.emit` (on the event loop, or any thread) formats the record and
appends its frame to a bounded buffer; that is all it does. The `SyslogSender` thread
connects (verifying the server's certificate), sends what the buffer holds, and while the
server cannot be reached keeps the newest `buffer_lines` lines, retrying with a backoff
(0.5 s doubling to 30 s). When it is back, the kept lines go first, after a line saying
how many older ones were dropped.

Why not the stdlib's QueueListener: it wakes only for a new record, and lines kept while
the server was down must leave when it comes back even if nothing new is logged. So the
thread waits on the buffer with a deadline: the next connection attempt.

Delivery is at least once: a batch cut off by a broken connection is sent again on the
next (a line may arrive twice). A server that closes its end is noticed before the next
send (a syslog server never writes to us, so anything readable means it closed); one
that vanishes without closing (a cable pulled) may lose the batch sent into the void, as
with any TCP syslog without application acknowledgements (RELP).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from mailroom.app.logging_format import LineStyle, octet_frame, syslog_message

FIRST_RETRY_SECONDS = 0.5
LAST_RETRY_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0
BATCH_FRAMES = 500
CLOSE_SECONDS = 3.0
"""At exit, how long the last lines may take to leave."""


def syslog_tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify the server's certificate and name against `ca_file` (or the system's CAs).
    A client certificate (RFC 5425 §5.1's mutual authentication) is loaded into it by
    the caller."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 9662 (updating RFC 5425)
    return context


class SyslogSender(threading.Thread):
    """The thread that owns the connection to the syslog server and the buffer."""

    def __init__(
        self,
        host: str,
        port: int,
        context: ssl.SSLContext,
        *,
        server_name: str | None = None,
        buffer_lines: int,
        dropped_note: Callable[[int], bytes],
        report: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name="mailroom-syslog", daemon=True)
        self.host, self.port = host, port
        self.context = context
        self.server_name = server_name or host
        self.buffer_lines = buffer_lines
        self._dropped_note = dropped_note
        self._report = report or _to_stderr
        self._condition = threading.Condition()
        self._pending: deque[bytes] = deque()
        """Frames not yet sent, oldest first; at most `buffer_lines`."""
        self._in_flight = 0
        """Frames taken out of `_pending` by the send under way."""
        self._dropped = 0
        """Lines dropped from the buffer since the last note about it was sent."""
        self._socket: ssl.SSLSocket | None = None
        self._retry_at = 0.0
        self._backoff = FIRST_RETRY_SECONDS
        self._down_since: float | None = None
        self._stopping = False
        self._idle = threading.Event()
        self._idle.set()

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"

    # -- the logging side: never waits ----------------------------------------------

    def put(self, frame: bytes) -> None:
        with self._condition:
            if len(self._pending) >= self.buffer_lines:
                self._pending.popleft()
                self._dropped += 1
            self._pending.append(frame)
            self._idle.clear()
            self._condition.notify()

    def flushed(self, timeout: float | None = None) -> bool:
        """Wait until every line put so far has been sent (True), or `timeout` passed."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = CLOSE_SECONDS) -> None:
        """Send what can be sent within `timeout`, then close; what is left is said on
        standard error (the server may be down at exit)."""
        self.flushed(timeout)
        with self._condition:
            self._stopping = True
            self._condition.notify()
        self.join(timeout)
        with self._condition:
            left = len(self._pending) + self._in_flight + self._dropped
        if left:
            self._report(f"{left} log line(s) not sent to the syslog server {self.where}")

    # -- the thread -------------------------------------------------------------------

    def run(self) -> None:
        while True:
            with self._condition:
                while not self._stopping and not self._ready():
                    retry_in = max(0.0, self._retry_at - time.monotonic())
                    self._condition.wait(retry_in if self._pending else None)
                if self._stopping:
                    break
                # Taken out of the buffer while sent: a line already sent must not be
                # counted as dropped when the buffer overflows meanwhile.
                count = min(BATCH_FRAMES, len(self._pending))
                batch = [self._pending.popleft() for _ in range(count)]
                dropped, self._dropped = self._dropped, 0
                self._in_flight = count
            sent = self._send(batch, dropped)
            with self._condition:
                self._in_flight = 0
                if not sent:  # back in front, the oldest dropped if it overflows now
                    self._pending.extendleft(reversed(batch))
                    self._dropped += dropped
                    while len(self._pending) > self.buffer_lines:
                        self._pending.popleft()
                        self._dropped += 1
                elif not self._pending:
                    self._idle.set()
        self._disconnect()

    def _ready(self) -> bool:
        """Lines are waiting and a connection is up or may be tried now."""
        return bool(self._pending) and (
            self._socket is not None or time.monotonic() >= self._retry_at
        )

    def _send(self, batch: list[bytes], dropped: int) -> bool:
        if self._socket is not None and _peer_closed(self._socket):
            self._disconnect()
        if self._socket is None and not self._connect():
            return False
        assert self._socket is not None
        data = b"".join(batch)
        if dropped:
            data = self._dropped_note(dropped) + data
        try:
            self._socket.sendall(data)
        except OSError as error:
            self._lost(f"sending failed: {error}")
            return False
        return True

    def _connect(self) -> bool:
        try:
            raw = socket.create_connection((self.host, self.port), CONNECT_TIMEOUT_SECONDS)
        except OSError as error:
            self._lost(f"cannot connect: {error.strerror or error}")
            return False
        try:
            self._socket = self.context.wrap_socket(raw, server_hostname=self.server_name)
        except (OSError, ssl.SSLError) as error:
            raw.close()
            self._lost(f"no TLS session: {error}")
            return False
        self._socket.settimeout(CONNECT_TIMEOUT_SECONDS)
        self._backoff = FIRST_RETRY_SECONDS
        if self._down_since is not None:
            self._report(f"remote syslog {self.where} reachable again; sending the kept lines")
            self._down_since = None
        return True

    def _lost(self, reason: str) -> None:
        """The server is not reachable: close, say so once per outage, retry later."""
        self._disconnect()
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._report(
                f"remote syslog {self.where}: {reason}; keeping up to {self.buffer_lines} "
                "lines until it is back"
            )
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, LAST_RETRY_SECONDS)

    def _disconnect(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None


def _peer_closed(connection: ssl.SSLSocket) -> bool:
    """Whether the server has closed its end (or reset it): it never sends us anything,
    so a readable end of file, a close_notify or an error means the connection is gone."""
    connection.setblocking(False)
    try:
        data = connection.recv(4096)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        return False
    except OSError:
        return True
    finally:
        with contextlib.suppress(OSError):
            connection.settimeout(CONNECT_TIMEOUT_SECONDS)
    return data == b""


def _to_stderr(text: str) -> None:
    """The sender's own troubles go to standard error (the journal), not to itself."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"mailroom: {text}\n")
        sys.stderr.flush()


class RemoteSyslogHandler(logging.Handler):
    """A logging handler that formats in the caller's thread and hands the frame to a
    `SyslogSender`; it never waits for the network."""

    def __init__(self, sender: SyslogSender, style: LineStyle, facility: int) -> None:
        super().__init__()
        self.sender = sender
        self.style = style
        self.facility = facility

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sender.put(octet_frame(syslog_message(record, self.style, self.facility)))
        except Exception:  # a logging handler must not raise into the code that logs
            self.handleError(record)

    def close(self) -> None:
        if self.sender.is_alive():
            self.sender.stop()
        super().close()


def remote_syslog_handler(
    host: str,
    port: int,
    context: ssl.SSLContext,
    style: LineStyle,
    facility: int,
    *,
    server_name: str | None = None,
    buffer_lines: int,
    report: Callable[[str], None] | None = None,
) -> RemoteSyslogHandler:
    """A started sender and its handler."""

    def dropped_note(count: int) -> bytes:
        note = logging.LogRecord(
            "mailroom.log",
            logging.WARNING,
            __file__,
            0,
            "%d log line(s) dropped while the syslog server could not be reached "
            "(buffer of %d lines full)",
            (count, buffer_lines),
            None,
        )
        return octet_frame(syslog_message(note, style, facility))

    sender = SyslogSender(
        host,
        port,
        context,
        server_name=server_name,
        buffer_lines=buffer_lines,
        dropped_note=dropped_note,
        report=report,
    )
    sender.start()
    return RemoteSyslogHandler(sender, style, facility)
