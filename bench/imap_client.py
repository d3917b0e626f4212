"""A small asyncio IMAP client for the IMAP benchmark (bench/imap_bench.py).

Why not imaplib: its per-line regular expressions cost more client CPU than a
10,000-message FETCH costs some servers, it cannot pipeline APPENDs, and it
needs a thread per connection for 2,000 sessions in IDLE. This client does
the least a benchmark needs: send a command, read until its tagged reply
(reading literals by their announced size, so message text is never taken for
protocol), and keep the untagged lines only when asked. It speaks only to the
addresses the benchmark was given, which it has already checked are loopback.

Nothing here interprets mailbox data beyond what the benchmark needs
(capabilities, SEARCH results, EXISTS).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

LITERAL_AT_END = re.compile(rb"\{(\d+)(\+?)\}\r\n$")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
READ_LIMIT = 1 << 20  # longest protocol line (literals are read by size, not by line)


class ImapError(Exception):
    """The server answered NO or BAD, closed the connection, or said something unexpected."""


@dataclass
class Reply:
    """The end of one command: its tagged status and whatever the caller asked to keep."""

    status: str  # OK, NO or BAD
    text: str
    untagged: list[bytes] = field(default_factory=list)  # only with keep=True; literals inline
    received_bytes: int = 0  # everything read for this command, literals included

    def ok(self) -> bool:
        return self.status == "OK"


@dataclass(frozen=True)
class AppendItem:
    """One message to APPEND: its flags, internal date and text (CRLF line ends)."""

    flags: tuple[str, ...]
    internal_date: datetime
    data: bytes


def quote(text: str) -> str:
    """An IMAP quoted string (RFC 9051 §4.3); the benchmark's names and terms are ASCII."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_date_time(moment: datetime) -> str:
    """``"dd-Mon-yyyy hh:mm:ss +zzzz"`` (RFC 9051 §9, date-time), English month names."""
    months = MONTHS
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return (
        f'"{moment.day:02d}-{months[moment.month - 1]}-{moment.year:04d} '
        f'{moment:%H:%M:%S} {sign}{minutes // 60:02d}{minutes % 60:02d}"'
    )


def compact_sets(numbers: Iterable[int], max_ranges: int = 500) -> list[str]:
    """Sequence sets of at most ``max_ranges`` ranges each, covering ``numbers``: servers
    bound a command's set (Mailroom refuses more than 1,000 ranges), and a long set is
    better sent as several commands than refused."""
    ranges = compact_ranges(numbers)
    return [",".join(ranges[i : i + max_ranges]) for i in range(0, len(ranges), max_ranges)]


def compact_ranges(numbers: Iterable[int]) -> list[str]:
    """``["1:3", "5", "7:9"]`` from numbers (sorted and de-duplicated here)."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    start = previous = None
    for n in ordered:
        if start is None:
            start = previous = n
        elif previous is not None and n == previous + 1:
            previous = n
        else:
            parts.append(f"{start}" if start == previous else f"{start}:{previous}")
            start = previous = n
    if start is not None:
        parts.append(f"{start}" if start == previous else f"{start}:{previous}")
    return parts


def search_numbers(reply: Reply) -> list[int]:
    """Numbers of ``* SEARCH n n n`` (and of ESEARCH's ALL is not asked for)."""
    numbers: list[int] = []
    for line in reply.untagged:
        if line.upper().startswith(b"* SEARCH"):
            numbers.extend(int(word) for word in line[8:].split() if word.isdigit())
    return numbers


def describe(exc: BaseException) -> str:
    """A failed exchange in one short line, for a benchmark's report."""
    if isinstance(exc, ImapError):
        return str(exc)[:200]
    if isinstance(exc, TimeoutError):
        return "timeout"
    return f"{type(exc).__name__}: {exc}"[:200]


class ImapConnection:
    """One IMAP session over asyncio streams (RFC 9051 / RFC 3501 client side)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.capabilities: frozenset[str] = frozenset()
        self._tag = 0

    @classmethod
    async def open(
        cls, host: str, port: int, wait_s: float, local_host: str | None = None
    ) -> ImapConnection:
        local = (local_host, 0) if local_host else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=READ_LIMIT, local_addr=local), wait_s
        )
        conn = cls(reader, writer, wait_s)
        try:
            greeting = await conn._read_line()
            if not greeting.upper().startswith((b"* OK", b"* PREAUTH")):
                raise ImapError(f"greeting: {greeting[:200]!r}")
        except BaseException:
            conn.abort()
            raise
        return conn

    async def login(self, user: str, password: str) -> None:
        reply = await self.command(f"LOGIN {quote(user)} {quote(password)}", keep=True)
        if not reply.ok():
            raise ImapError(f"LOGIN {user}: {reply.status} {reply.text}")
        capability = await self.command("CAPABILITY", keep=True)
        for line in capability.untagged:
            if line.upper().startswith(b"* CAPABILITY "):
                words = line[len(b"* CAPABILITY ") :].decode("ascii", "replace").upper().split()
                self.capabilities = frozenset(words)

    def next_tag(self) -> str:
        self._tag += 1
        return f"B{self._tag}"

    async def command(self, text: str, *, keep: bool = False, wait_s: float | None = None) -> Reply:
        """Send one command (no literals) and read until its tagged reply."""
        tag = self.next_tag()
        self.writer.write(f"{tag} {text}\r\n".encode())
        return await self.read_reply(tag, keep=keep, wait_s=wait_s)

    async def read_reply(
        self, tag: str, *, keep: bool = False, wait_s: float | None = None
    ) -> Reply:
        """Read untagged responses until the one tagged ``tag``; bounded by ``timeout``."""
        return await asyncio.wait_for(self._read_until(tag, keep), wait_s or self.timeout)

    async def _read_until(self, tag: str, keep: bool) -> Reply:
        prefix = tag.encode() + b" "
        received = 0
        untagged: list[bytes] = []
        while True:
            response, size = await self._read_response()
            received += size
            if response.startswith(prefix):
                status, _, text = response[len(prefix) :].partition(b" ")
                return Reply(
                    status=status.decode("ascii", "replace").upper(),
                    text=text.decode("utf-8", "replace").rstrip("\r\n"),
                    untagged=untagged,
                    received_bytes=received,
                )
            if response.startswith(b"+"):
                raise ImapError(f"unexpected continuation request: {response[:200]!r}")
            if keep:
                untagged.append(response.rstrip(b"\r\n"))

    async def next_response(self, wait_s: float) -> bytes:
        """The next response, whatever it is (in IDLE: untagged data until DONE)."""
        response, _ = await asyncio.wait_for(self._read_response(), wait_s)
        return response

    async def append_one(
        self, mailbox: str, flags: Sequence[str], data: bytes, *, wait_s: float | None = None
    ) -> Reply:
        """One APPEND, untagged data and the tagged reply kept (APPENDUID, RFC 4315); a
        LITERAL+ literal when offered, else a synchronizing one. NO/BAD are returned, not
        raised: the load benchmark counts them."""
        tag = self.next_tag()
        plus = "+" if "LITERAL+" in self.capabilities else ""
        self.writer.write(
            f"{tag} APPEND {quote(mailbox)} ({' '.join(flags)}) {{{len(data)}{plus}}}\r\n".encode()
        )
        if not plus:
            line = await asyncio.wait_for(self._read_line(), wait_s or self.timeout)
            if not line.startswith(b"+"):
                status, _, text = line.partition(b" ")[2].partition(b" ")
                return Reply(
                    status.decode("ascii", "replace").upper(), text.decode(errors="replace")
                )
        self.writer.write(data + b"\r\n")
        return await self.read_reply(tag, keep=True, wait_s=wait_s)

    async def _read_response(self) -> tuple[bytes, int]:
        """One response: a line, and for each literal it announces, the literal and the rest."""
        line = await self._read_line()
        size = len(line)
        match = LITERAL_AT_END.search(line)
        if match is None:
            return line, size
        pieces = [line]
        # A FETCH response holds one literal per body; bounded by the line limit of the rest.
        while match is not None:
            literal = await self.reader.readexactly(int(match.group(1)))
            rest = await self._read_line()
            size += len(literal) + len(rest)
            pieces.append(literal)
            pieces.append(rest)
            match = LITERAL_AT_END.search(rest)
        return b"".join(pieces), size

    async def _read_line(self) -> bytes:
        line = await self.reader.readline()
        if not line:
            raise ImapError("the server closed the connection")
        if not line.endswith(b"\n"):
            raise ImapError(f"line over {READ_LIMIT} bytes or cut short")
        return line

    async def append_many(
        self, mailbox: str, items: Sequence[AppendItem], *, wait_s: float | None = None
    ) -> int:
        """APPEND ``items`` to ``mailbox``, the fastest way the server allows.

        MULTIAPPEND (RFC 3502) with LITERAL+ (RFC 7888): one command, no round trip per
        message. LITERAL+ alone: one APPEND per message, all sent before any reply is read.
        Neither: one synchronizing literal at a time. Returns how many were appended.
        """
        if not items:
            return 0
        literal_plus = "LITERAL+" in self.capabilities
        if literal_plus and "MULTIAPPEND" in self.capabilities:
            tag = self.next_tag()
            self.writer.write(f"{tag} APPEND {quote(mailbox)}".encode())
            for item in items:
                self.writer.write(self._append_prefix(item, "+"))
                self.writer.write(item.data)
            self.writer.write(b"\r\n")
            await self.writer.drain()
            reply = await self.read_reply(tag, wait_s=wait_s)
            if not reply.ok():
                raise ImapError(f"MULTIAPPEND to {mailbox}: {reply.status} {reply.text}")
            return len(items)
        if literal_plus:
            tags: list[str] = []
            for item in items:
                tag = self.next_tag()
                tags.append(tag)
                self.writer.write(f"{tag} APPEND {quote(mailbox)}".encode())
                self.writer.write(self._append_prefix(item, "+"))
                self.writer.write(item.data + b"\r\n")
            await self.writer.drain()
            for tag in tags:
                reply = await self.read_reply(tag, wait_s=wait_s)
                if not reply.ok():
                    raise ImapError(f"APPEND to {mailbox}: {reply.status} {reply.text}")
            return len(items)
        for item in items:
            tag = self.next_tag()
            self.writer.write(f"{tag} APPEND {quote(mailbox)}".encode())
            self.writer.write(self._append_prefix(item, ""))
            await self.writer.drain()
            line = await asyncio.wait_for(self._read_line(), wait_s or self.timeout)
            if not line.startswith(b"+"):
                raise ImapError(f"APPEND to {mailbox}: {line[:200]!r}")
            self.writer.write(item.data + b"\r\n")
            reply = await self.read_reply(tag, wait_s=wait_s)
            if not reply.ok():
                raise ImapError(f"APPEND to {mailbox}: {reply.status} {reply.text}")
        return len(items)

    @staticmethod
    def _append_prefix(item: AppendItem, plus: str) -> bytes:
        flags = " ".join(item.flags)
        return (
            f" ({flags}) {imap_date_time(item.internal_date)} {{{len(item.data)}{plus}}}\r\n"
        ).encode()

    async def start_idle(self) -> str:
        """IDLE (RFC 2177): returns the tag once the server's continuation request came."""
        tag = self.next_tag()
        self.writer.write(f"{tag} IDLE\r\n".encode())
        while True:
            line = await asyncio.wait_for(self._read_line(), self.timeout)
            if line.startswith(b"+"):
                return tag
            if line.startswith(tag.encode() + b" "):
                raise ImapError(f"IDLE refused: {line[:200]!r}")

    async def logout(self) -> None:
        with contextlib.suppress(OSError, ImapError, TimeoutError, asyncio.IncompleteReadError):
            await self.command("LOGOUT", wait_s=10)
        await self.close()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 5)

    def abort(self) -> None:
        """Drop the connection without a goodbye (many idle sessions at once)."""
        transport = self.writer.transport
        transport.abort()
