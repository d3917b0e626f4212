"""What a log line looks like on its way out: one line of text or one JSON object, an
RFC 5424 syslog message, and RFC 5425's octet-counting frame around it; and the reader
of such frames (what a syslog server does with our stream; the tests' listener uses it).

Pure functions of a `logging.LogRecord`: no socket, no clock but the record's own.
Whatever a message holds (a client's bytes in a refusal, a traceback, NULs, megabytes),
what leaves here is one line of printable text within `MAX_MESSAGE_BYTES`, so a log
reader can neither be fooled by a forged line nor flooded by one record.

The stdlib's SysLogHandler writes RFC 3164 lines over UDP, TCP or a local socket; it has
no TLS, no RFC 5424 header and no octet counting, hence this module.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_MESSAGE_BYTES = 8192
"""Largest syslog message we send: RFC 5425 §4.3.1 says receivers SHOULD take 8192
octets (and MUST take 2048); a longer record is cut, saying so."""

TRUNCATED = " [truncated]"

MAX_LOGGER_NAME = 64

_SEVERITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
"""RFC 5424 §6.2.1 severities: critical 2, error 3, warning 4, info 6, debug 7."""

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")
"""What json.dumps leaves literal (it escapes C0 controls) but a terminal or a line-based
reader may take for a control or a line break; inside JSON strings only, so escapable."""
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def severity(levelno: int) -> int:
    for level, number in _SEVERITIES:
        if levelno >= level:
            return number
    return 7


def one_line(text: str) -> str:
    """`text` with control characters (newlines, NUL, ESC, C1, Unicode line separators)
    written as escapes, so it stays one line and cannot paint a terminal."""
    return _UNPRINTABLE.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def record_text(record: logging.LogRecord) -> str:
    """The record's message with its traceback, if any (several lines: escape them)."""
    text = record.getMessage()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        text = f"{text}\n{record.exc_text}"
    if record.stack_info:
        text = f"{text}\n{record.stack_info}"
    return text


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "backslashreplace")


def cut_utf8(data: bytes, limit: int) -> bytes:
    """`data` cut to at most `limit` bytes on a character boundary, marked as cut."""
    if len(data) <= limit:
        return data
    marker = TRUNCATED.encode()
    kept = data[: max(0, limit - len(marker))].decode("utf-8", "ignore").encode("utf-8")
    return (kept + marker)[:limit]


def timestamp(created: float) -> str:
    """RFC 5424 §6.2.3 / RFC 3339 time in UTC with microseconds."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LineStyle:
    """How this process's lines look: its host name, and which process it is."""

    hostname: str
    process: str = ""
    """"worker 2" in a worker process; empty in the main one."""
    json: bool = False

    def text(self, record: logging.LogRecord) -> str:
        """The line after the syslog header (and after the time on standard error):
        `INFO [worker 2 1234] mailroom.smtp: message` or a JSON object; one line,
        at most about `MAX_MESSAGE_BYTES`."""
        if self.json:
            return self.json_text(record)
        where = f" [{self.process} {record.process}]" if self.process else ""
        name = record.name[:MAX_LOGGER_NAME]
        line = one_line(f"{record.levelname}{where} {name}: {record_text(record)}")
        return cut_utf8(_utf8(line), MAX_MESSAGE_BYTES - 200).decode("utf-8", "replace")

    def json_text(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "time": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name[:MAX_LOGGER_NAME],
            "host": self.hostname,
            "pid": record.process,
        }
        if self.process:
            fields["process"] = self.process
        message = record_text(record)
        budget = MAX_MESSAGE_BYTES - 200

        def dumped(text: str) -> str:
            # json escapes C0 controls itself (\n, \u0000).
            encoded = json.dumps({**fields, "message": text}, ensure_ascii=False)
            return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)

        whole = dumped(message)
        if len(_utf8(whole)) <= budget:
            return whole
        # The longest beginning that fits with the mark, found by halving: a character
        # takes 1 to 12 bytes in JSON (\u0000, an escaped surrogate), so no count
        # of bytes says how many characters to keep.
        fits, too_long = 0, min(len(message), budget) + 1
        while too_long - fits > 1:
            middle = (fits + too_long) // 2
            if len(_utf8(dumped(message[:middle] + TRUNCATED))) <= budget:
                fits = middle
            else:
                too_long = middle
        return dumped(message[:fits] + TRUNCATED)


_HEADER_FIELD = re.compile("[^\x21-\x7e]")


def header_field(text: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII without spaces, at most `limit`
    characters, "-" (NILVALUE) if nothing is left."""
    cleaned = _HEADER_FIELD.sub("_", text)[:limit]
    return cleaned or "-"


def syslog_message(record: logging.LogRecord, style: LineStyle, facility: int) -> bytes:
    """The record as an RFC 5424 message (§6): `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID
    MSGID - MSG`, MSG-ANY (no BOM: receivers that do not strip it show it), at most
    `MAX_MESSAGE_BYTES`."""
    priority = facility * 8 + severity(record.levelno)
    header = " ".join(
        (
            f"<{priority}>1",
            timestamp(record.created),
            header_field(style.hostname, 255),
            "mailroom",
            header_field(str(record.process), 128),
            header_field(record.name, 32),
            "-",
        )
    )
    head = _utf8(header + " ")
    return head + cut_utf8(_utf8(style.text(record)), MAX_MESSAGE_BYTES - len(head))


def octet_frame(message: bytes) -> bytes:
    """RFC 5425 §4.3: `MSG-LEN SP SYSLOG-MSG`."""
    return b"%d %s" % (len(message), message)


class FrameError(ValueError):
    """The stream is not RFC 5425 octet-counted frames; nothing after it can be trusted."""


MAX_LENGTH_DIGITS = 9


class FrameReader:
    """Sans-I/O reader of octet-counted frames (RFC 5425 §4.3): bytes in as they come,
    whole messages out. A frame longer than `max_message` is refused (§4.3.1 lets a
    receiver refuse what it cannot take), as is any length that is not NONZERO-DIGIT
    *DIGIT followed by one space."""

    def __init__(self, max_message: int = 64 * 1024) -> None:
        self.max_message = max_message
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages = []
        while self._buffer:
            space = self._buffer.find(b" ", 0, MAX_LENGTH_DIGITS + 1)
            prefix = bytes(self._buffer[: MAX_LENGTH_DIGITS + 1 if space < 0 else space])
            if (prefix and not prefix.isdigit()) or prefix.startswith(b"0"):
                raise FrameError(f"not a frame length: {prefix[:20]!r}")
            if space < 0:
                if len(self._buffer) > MAX_LENGTH_DIGITS:
                    raise FrameError("frame length too long")
                break
            if space == 0:
                raise FrameError("frame without a length")
            length = int(prefix)
            if length > self.max_message:
                raise FrameError(f"frame of {length} octets is over {self.max_message}")
            end = space + 1 + length
            if len(self._buffer) < end:
                break
            messages.append(bytes(self._buffer[space + 1 : end]))
            del self._buffer[:end]
        return messages

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held."""
        return len(self._buffer)
