"""One client connection, for every protocol: bounded line reads, exact reads for
literals and BDAT chunks, writes with back-pressure, and STARTTLS.

Hand-written on asyncio.Protocol rather than asyncio streams: a StreamReader keeps
whatever the client pipelined after STARTTLS in its buffer and hands it out after
the handshake as if it had come encrypted (the STARTTLS command-injection family of
bugs, CVE-2011-0411 and its kin), and it reads lines only up to a fixed limit with
no way to skip an over-long one and go on. Here the buffer is ours: `start_tls`
drops it, and `read_line` discards an over-long line up to its end.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from mailroom.metrics import TLS_HANDSHAKE_FAILURES
from mailroom.net.deadlines import Deadlines as Deadlines
from mailroom.net.deadlines import IdleTimeout as IdleTimeout
from mailroom.net.deadlines import LineTimeout as LineTimeout
from mailroom.net.deadlines import RateGuard
from mailroom.net.deadlines import TooSlow as TooSlow
from mailroom.net.quick_ack import QuickAck

log = logging.getLogger("mailroom.net")

# Pause reading from the socket when this much input waits unread.
HIGH_WATER = 256 * 1024
# Compressed input (IMAP COMPRESS=DEFLATE) is inflated only as far as the session has
# room for (HIGH_WATER, or the size of the read it waits on): a "zip bomb" of 61 KB that
# inflates to 60 MiB costs its session at most that, never the whole at once. Reading
# from the socket pauses while this much compressed input waits to be inflated.
MAX_COMPRESSED_PENDING = 64 * 1024
# Output held back to go out in one send: at most this much, and never past the
# current turn of the event loop (see `Connection.write`); a write this large goes at once.
COALESCE_BYTES = 16 * 1024


class ConnectionClosed(Exception):
    """The client went away (or the connection was closed) before the read finished."""


class LineTooLong(Exception):
    """A line exceeded its limit; it was read up to its end and thrown away.

    `ended_with_crlf` tells how it ended: in the DATA phase a following `.` line ends
    the message only after a CRLF (the SMTP smuggling family of bugs)."""

    def __init__(self, ended_with_crlf: bool) -> None:
        super().__init__("line too long")
        self.ended_with_crlf = ended_with_crlf


@dataclass(frozen=True)
class TlsInfo:
    version: str
    cipher: str
    peer_certificate: bytes | None
    """The client's certificate (DER), if it presented one."""


class _StreamProtocol(asyncio.Protocol):
    """Collects input into a buffer the Connection reads from."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None
        """Set while the session waits for input (`wait_for_data`)."""
        self._drain_waiter: asyncio.Future[None] | None = None
        self._writing_paused = False
        self.inflater: zlib._Decompress | None = None
        """Set once the session turned on compression (IMAP COMPRESS=DEFLATE)."""
        self.compressed = b""
        """Compressed input not inflated yet (no room for its output yet)."""
        self.received = 0
        """Bytes of input so far (inflated), for the minimum rate."""
        self.wanted = 0
        """Bytes the session waits to have buffered (a literal larger than HIGH_WATER)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.inflater is not None:
            self.compressed += data
            self.inflate()
        else:
            self.buffer += data
            self.received += len(data)
        if self._full() and self.transport and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def _room(self) -> int:
        return max(HIGH_WATER, self.wanted) - len(self.buffer)

    def _full(self) -> bool:
        if self.inflater is not None:
            return len(self.compressed) > MAX_COMPRESSED_PENDING
        return self._room() < 0

    def inflate(self) -> bool:
        """Inflate pending compressed input into the room the buffer has; True if any
        came out. Input that is no DEFLATE stream, or ends it (RFC 4978 §4: it runs
        until the connection closes), ends the connection."""
        room = self._room()
        if self.inflater is None or not self.compressed or room <= 0:
            return False
        try:
            data = self.inflater.decompress(self.compressed, room)
        except zlib.error:
            self._fail_compression()
            return False
        if self.inflater.eof:
            self._fail_compression()
            return False
        self.compressed = self.inflater.unconsumed_tail
        self.buffer += data
        self.received += len(data)
        return bool(data)

    def _fail_compression(self) -> None:
        self.end_compression()
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def end_compression(self) -> None:
        """Free the inflater and what it holds (at the end of the session)."""
        self.inflater = None
        self.compressed = b""

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.end_compression()
        self._wake()
        if self._drain_waiter and not self._drain_waiter.done():
            self._drain_waiter.set_exception(ConnectionClosed())

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._drain_waiter and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def consumed(self) -> None:
        if self.inflater is not None:
            self.inflate()
        drained = self.inflater is not None or len(self.buffer) <= max(HIGH_WATER, self.wanted) // 2
        if self.paused and self.transport and not self._full() and drained:
            self.paused = False
            self.transport.resume_reading()

    async def wait_for_data(self) -> None:
        if self.inflater is not None and self.inflate():
            return  # inflated input the session has not seen yet
        if self.closed:
            raise ConnectionClosed()
        if self.paused and self.transport and not self._full():
            self.paused = False  # a read waits for more than the buffer's usual room
            self.transport.resume_reading()
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    async def drain(self) -> None:
        if self.closed:
            raise ConnectionClosed()
        if self._writing_paused:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None

    def at_end(self) -> bool:
        """Closed, and nothing more to read (compressed input left is inflated first)."""
        if self.inflater is not None and self.inflate():
            return False
        return self.closed

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class Connection:
    """A client connection as a protocol session sees it."""

    def __init__(
        self,
        transport: asyncio.Transport,
        protocol: _StreamProtocol,
        idle_timeout: float,
        listener_name: str,
        deadlines: Deadlines | None = None,
        tls_handshake_timeout: float = 10.0,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self.idle_timeout = idle_timeout
        self.listener_name = listener_name
        self.deadlines = deadlines or Deadlines()
        self.tls_handshake_timeout = tls_handshake_timeout
        unknown = ("0.0.0.0", 0)  # noqa: S104 - an address for logs, nothing binds to it
        peer = transport.get_extra_info("peername") or unknown
        self.peer_ip = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        self.peer_port = int(peer[1])
        self.tls: TlsInfo | None = _tls_info(transport)  # set already on implicit TLS
        self._idle_timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._deadline_error: type[IdleTimeout] = IdleTimeout
        self._line_started: float | None = None
        """When the first byte of the line being read was seen."""
        self._rate: RateGuard | None = None
        self._deflater: zlib._Compress | None = None
        self._unflushed = False
        self._held: list[bytes] = []
        self._held_size = 0
        self._send_scheduled = False
        self._quick_ack = QuickAck(transport)
        self._answered_at = 0
        """How many bytes had arrived when the last answer went out (see `_fill`)."""

    @property
    def peer(self) -> str:
        """`[ip]:port` for logs."""
        return f"[{self.peer_ip}]:{self.peer_port}"

    async def _fill(self) -> None:
        """Wait for more input, at most idle_timeout seconds (else IdleTimeout).

        Not `asyncio.timeout` around each wait: that schedules and cancels a timer for
        every line a client sends (4 µs measured alone; without it a POP3 NOOP's round
        trip on loopback fell from 61 to 48 µs). One timer per connection stays armed
        instead; when it fires before the deadline (input came meanwhile) it is set
        again for the new one."""
        protocol = self._protocol
        if protocol.buffer or protocol.received != self._answered_at:
            self._quick_ack.now()  # a command (or literal) is part-way here (quick_ack.py)
        loop = asyncio.get_running_loop()
        deadline, error = loop.time() + self.idle_timeout, IdleTimeout
        if self._line_started is not None:
            line_deadline = self._line_started + self.deadlines.command_line_seconds
            if line_deadline < deadline:
                deadline, error = line_deadline, LineTimeout
        if self._rate is not None:
            rate_deadline = self._rate.deadline(self._protocol.received)
            if rate_deadline < deadline:
                deadline, error = rate_deadline, TooSlow
        self._deadline, self._deadline_error = deadline, error
        timer = self._idle_timer
        if timer is None or timer.when() > self._deadline:  # none yet, or a shorter timeout
            if timer is not None:
                timer.cancel()
            self._idle_timer = loop.call_at(self._deadline, self._idle_check)
        await self._protocol.wait_for_data()

    def _idle_check(self) -> None:
        self._idle_timer = None
        waiter = self._protocol.waiter
        if waiter is None or waiter.done():
            return  # not waiting: the next wait sets the timer again
        loop = asyncio.get_running_loop()
        if loop.time() >= self._deadline:
            error = self._deadline_error
            if error is not IdleTimeout:
                what = "a command line" if error is LineTimeout else "a message or literal"
                log.info(
                    "%s on %s: %s came too slowly; closing", self.peer, self.listener_name, what
                )
            waiter.set_exception(error())
        else:
            self._idle_timer = loop.call_at(self._deadline, self._idle_check)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    async def read_line(self, limit: int) -> bytes:
        """The next line with its ending (LF or CRLF; a lone CR is not an ending).
        A line longer than `limit` bytes is consumed to its end and LineTooLong raised.
        At end of input an unterminated rest is returned without ending, then
        ConnectionClosed. A line must be complete within `command_line_seconds` of its
        first byte (LineTimeout), however often bytes of it come."""
        try:
            return await self._read_line(limit)
        finally:
            self._line_started = None

    async def _read_line(self, limit: int) -> bytes:
        buffer = self._protocol.buffer
        discarding = False
        last_dropped = b""
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end >= 0:
                if discarding or end + 1 > limit:
                    before = buffer[end - 1 : end] if end > 0 else last_dropped
                    del buffer[: end + 1]
                    self._protocol.consumed()
                    raise LineTooLong(ended_with_crlf=before == b"\r")
                line = bytes(buffer[: end + 1])
                del buffer[: end + 1]
                self._protocol.consumed()
                return line
            if len(buffer) > limit:
                discarding = True
                last_dropped = bytes(buffer[-1:])
                del buffer[:]
                start = 0
                self._protocol.consumed()  # may inflate more compressed input
                continue
            start = len(buffer)
            if (buffer or discarding) and self._line_started is None:
                self._line_started = asyncio.get_running_loop().time()
            if self._protocol.at_end():
                if buffer and not discarding:
                    rest = bytes(buffer)
                    del buffer[:]
                    return rest
                raise ConnectionClosed()
            await self._fill()

    def buffered_line(self, limit: int) -> bytes | None:
        """The next line, as `read_line` gives it, if a whole one of at most `limit`
        bytes has arrived already; else None (nothing is consumed), and `read_line`
        waits for it or deals with an over-long line or the end of input. Without a
        coroutine: for answering a burst of pipelined commands in one go."""
        buffer = self._protocol.buffer
        end = buffer.find(b"\n", 0, limit)
        if end < 0:
            return None
        line = bytes(buffer[: end + 1])
        del buffer[: end + 1]
        self._protocol.consumed()
        return line

    async def read_exactly(self, size: int) -> bytes:
        """Exactly `size` bytes (a literal, a BDAT chunk); ConnectionClosed if input ends.
        They must come at `min_data_rate` (TooSlow), from this call on unless a
        `minimum_rate()` block already runs."""
        buffer = self._protocol.buffer
        if len(buffer) < size:
            with self.minimum_rate():
                self._protocol.wanted = size
                try:
                    while len(buffer) < size:
                        if self._protocol.at_end():
                            raise ConnectionClosed()
                        await self._fill()
                finally:
                    self._protocol.wanted = 0
        data = bytes(buffer[:size])
        del buffer[:size]
        self._protocol.consumed()
        return data

    async def read_some(self, limit: int) -> bytes:
        """Up to `limit` bytes of whatever has arrived (waiting for at least one)."""
        buffer = self._protocol.buffer
        while not buffer:
            if self._protocol.at_end():
                raise ConnectionClosed()
            await self._fill()
        data = bytes(buffer[:limit])
        del buffer[:limit]
        self._protocol.consumed()
        return data

    def buffered_lines(self, limit: int) -> bytes:
        """The whole lines that have arrived, up to the last LF within the first `limit`
        bytes, left in place (b"" when there is none: `read_line` waits for one). For a
        reader that takes many lines at once (SMTP DATA) and then `consume`s as many
        bytes of them as it used: what follows (pipelined commands) stays unread."""
        buffer = self._protocol.buffer
        end = buffer.rfind(b"\n", 0, limit)
        return bytes(buffer[: end + 1]) if end >= 0 else b""

    def consume(self, size: int) -> None:
        """Drop `size` bytes that `buffered_lines` returned: they were read."""
        del self._protocol.buffer[:size]
        self._protocol.consumed()

    @contextmanager
    def minimum_rate(self) -> Iterator[None]:
        """Within this block input must come at `Deadlines.min_data_rate` on average
        after the grace, else the read waiting raises TooSlow: wrap the whole of a
        message (SMTP DATA, a BDAT chunk) or an IMAP literal, whatever the reads."""
        if self._rate is not None or not self.deadlines.min_data_rate:
            yield
            return
        loop = asyncio.get_running_loop()
        self._rate = RateGuard(loop.time(), self._protocol.received, self.deadlines)
        try:
            yield
        finally:
            self._rate = None

    def has_buffered_input(self) -> bool:
        return bool(self._protocol.buffer)

    def has_buffered_line(self) -> bool:
        """A whole line has arrived and waits to be read: a client pipelining commands."""
        return self._protocol.buffer.find(b"\n") >= 0

    def write(self, data: bytes) -> None:
        """Queue `data`; it is sent by the next `drain()`, or at the end of this turn of
        the event loop, whichever comes first.

        A command's answer is often written in pieces (untagged updates, FETCH lines,
        the tagged reply); sending each at once costs a send() (and a TLS record) per
        piece, which on loopback was a sixth of an IMAP server's busy time under load.
        Held output never waits for input: the end-of-turn send is always scheduled."""
        if self._transport.is_closing():
            return
        if self._deflater is not None:
            data = self._deflater.compress(data)
            self._unflushed = True
            if not data:
                return
        if len(data) >= COALESCE_BYTES:  # large already (FETCH's batches): no copy
            self._send_held()
            self._transport.write(data)
            self._answered_at = self._protocol.received
            return
        self._held.append(data)
        self._held_size += len(data)
        if self._held_size >= COALESCE_BYTES:
            self._send_held()
        elif not self._send_scheduled:
            self._send_scheduled = True
            asyncio.get_running_loop().call_soon(self._send_held)

    def writelines(self, pieces: list[bytes]) -> None:
        """Send `pieces` now, in order, after anything held: one writev() of all of them
        (uvloop gives the transport's buffers to the kernel as they are), never joined
        into one bytes first. For a burst of answers that are large together (POP3's
        pipelined RETRs: every message would be copied once more only to be copied
        again by the kernel). Under compression each piece goes through the deflater,
        as `write` does; whatever the kernel does not take at once waits in the
        transport (`drain`)."""
        if self._transport.is_closing():
            return
        if self._deflater is not None:
            for piece in pieces:
                self.write(piece)
            self._send_held()
            return
        if self._held:
            pieces = [*self._held, *pieces]
            self._held.clear()
            self._held_size = 0
        self._transport.writelines(pieces)
        self._answered_at = self._protocol.received

    def _send_held(self) -> None:
        self._send_scheduled = False
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._held_size = 0
        if not self._transport.is_closing():
            self._transport.write(data)
            self._answered_at = self._protocol.received

    async def drain(self) -> None:
        self._send_held()
        if self._deflater is not None and self._unflushed:
            self._unflushed = False
            if not self._transport.is_closing():
                self._transport.write(self._deflater.flush(zlib.Z_SYNC_FLUSH))
        await self._protocol.drain()

    def start_compression(self) -> None:
        """Raw DEFLATE both ways from here on (RFC 4978 §4); input already buffered was
        sent before the client compressed, so it stays as it is."""
        self._send_held()
        self._deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._protocol.inflater = zlib.decompressobj(-15)

    @property
    def compressed(self) -> bool:
        return self._deflater is not None

    async def send(self, data: bytes) -> None:
        self.write(data)
        await self.drain()

    async def start_tls(
        self, context: ssl.SSLContext, handshake_timeout: float | None = None
    ) -> None:
        """Upgrade to TLS as the server, within `handshake_timeout` (default: the
        connection's `tls_handshake_timeout`). Anything the client sent before the
        handshake is discarded, never read as if it had come over TLS (RFC 3207 §4.2)."""
        if handshake_timeout is None:
            handshake_timeout = self.tls_handshake_timeout
        self._send_held()  # the plain-text answer to STARTTLS goes out before the handshake
        del self._protocol.buffer[:]
        self._protocol.consumed()
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                self._transport,
                self._protocol,
                context,
                server_side=True,
                ssl_handshake_timeout=handshake_timeout,
            )
        except (ssl.SSLError, OSError, TimeoutError, ConnectionError) as error:
            self._transport.abort()
            TLS_HANDSHAKE_FAILURES.labels(self.listener_name, "starttls").inc()
            raise ConnectionClosed(f"TLS handshake failed: {error}") from error
        if transport is None:
            TLS_HANDSHAKE_FAILURES.labels(self.listener_name, "starttls").inc()
            raise ConnectionClosed("TLS handshake failed")
        self._transport = transport
        self._protocol.transport = transport
        self.tls = _tls_info(transport)

    def close(self) -> None:
        self._stop_idle_timer()
        self._send_held()
        if self._deflater is not None and self._unflushed and not self._transport.is_closing():
            self._unflushed = False
            self._transport.write(self._deflater.flush(zlib.Z_SYNC_FLUSH))
        self._transport.close()
        self._release_memory()

    def abort(self) -> None:
        self._stop_idle_timer()
        self._transport.abort()
        self._release_memory()

    def _release_memory(self) -> None:
        """What a closed session no longer needs: the compression state (zlib's
        window and tables, about 300 KiB) and unread input."""
        self._deflater = None
        self._protocol.end_compression()
        self._protocol.buffer = bytearray()

    @property
    def closed(self) -> bool:
        return self._protocol.closed or self._transport.is_closing()


def _tls_info(transport: asyncio.BaseTransport) -> TlsInfo | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    return TlsInfo(
        version=ssl_object.version() or "",
        cipher=cipher[0] if cipher else "",
        peer_certificate=ssl_object.getpeercert(binary_form=True),
    )
