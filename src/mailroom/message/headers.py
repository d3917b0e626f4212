"""Header fields of one message or MIME part: splitting the block, unfolding, RFC 2047 words.

A header block is read as Dovecot reads it: each field keeps its raw value (folding
included) and its byte offsets, so that IMAP can return `HEADER.FIELDS` exactly as
written. Nothing here raises on junk: a line without a colon is skipped, bare LF line
ends are accepted, 8-bit octets are kept.

`decode_header` is hand-written rather than `email.header.decode_header` because that
one needs text input, drops the whitespace rules of RFC 2047 §6.2 in some cases, and
raises on unknown charsets; ours joins adjacent encoded words of one charset before
decoding (so a multi-octet character split over two words survives) and falls back to
UTF-8 with replacement characters for charsets Python does not know.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass

MAX_HEADER_FIELDS = 10_000
"""Fields kept per header block; more are skipped (a bound on the work, not on the data)."""
_NOT_IN_NAME = re.compile(rb"[\x00-\x20\x7f]")
"""RFC 5322 §2.2: a field name is printable US-ASCII but ":" (8-bit octets are taken)."""


@dataclass(frozen=True)
class HeaderField:
    """One field: `name` as written, `value` raw (after the colon and its leading blanks,
    folding kept, without the final line end); `start`/`end` span the whole field
    including its line end, as offsets into the message."""

    name: str
    value: bytes
    start: int
    end: int


@dataclass(frozen=True)
class HeaderBlock:
    fields: tuple[HeaderField, ...]
    header_end: int
    """Where the fields end (the blank line starts here, if there is one)."""
    body_start: int
    """After the blank line; equal to the end of the part when there is no blank line."""


class HeaderIndex:
    """The fields of one header block by name, for what needs the header alone (IMAP's
    ENVELOPE): no MIME walk over the body. Looked up as `MessagePart.header_all`."""

    __slots__ = ("_index",)

    def __init__(self, fields: tuple[HeaderField, ...]) -> None:
        index: dict[str, list[bytes]] = {}
        for f in fields:
            index.setdefault(f.name.lower(), []).append(f.value)
        self._index = index

    def header_all(self, name: str) -> list[bytes]:
        """Raw values of every field called `name` (case-insensitive), in order."""
        return self._index.get(name.lower(), [])


def message_header(data: bytes) -> HeaderIndex:
    """The header of a whole message (the fields `parse_message` gives its root part)."""
    return HeaderIndex(parse_header_block(data, 0, len(data)).fields)


def crlf_body_start(data: bytes) -> int | None:
    """Where the body of a message whose lines all end in CRLF starts (after the blank
    line), or None when it has no blank line (all header): the `body_start` that
    `parse_header_block` finds, with one search in C instead of a walk over the fields,
    for the callers that need nothing else (POP3's TOP)."""
    if data.startswith(b"\r\n"):  # an empty header: the blank line comes first
        return 2
    blank = data.find(b"\r\n\r\n")
    return None if blank < 0 else blank + 4


def parse_header_block(data: bytes, start: int, end: int) -> HeaderBlock:
    """Split `data[start:end]` into fields up to the first empty line."""
    fields: list[HeaderField] = []
    pos = start
    name: str | None = None
    field_start = start
    value_start = start

    def finish(until: int, line_end: int) -> None:
        if name is not None and len(fields) < MAX_HEADER_FIELDS:
            raw = data[value_start:until]
            fields.append(HeaderField(name, raw, field_start, line_end))

    last_text_end = start
    while pos < end:
        newline = data.find(b"\n", pos, end)
        line_end = end if newline < 0 else newline + 1
        text_end = line_end
        if newline >= 0:
            text_end = newline
            if text_end > pos and data[text_end - 1] == 0x0D:
                text_end -= 1
        if text_end == pos and newline >= 0:
            # The empty line: the header ends, the body starts after it.
            finish(last_text_end, pos)
            return HeaderBlock(tuple(fields), pos, line_end)
        first = data[pos]
        if first in (0x20, 0x09) and name is not None:
            last_text_end = text_end  # a continuation line of the current field
            pos = line_end
            continue
        finish(last_text_end, pos)
        name = None
        colon = data.find(b":", pos, text_end)
        if colon > pos:
            candidate = data[pos:colon].rstrip(b" \t")
            if candidate and not _NOT_IN_NAME.search(candidate):
                name = candidate.decode("latin-1")
                field_start = pos
                value_start = colon + 1
                while value_start < text_end and data[value_start] in (0x20, 0x09):
                    value_start += 1
        last_text_end = text_end
        pos = line_end
    finish(last_text_end, end)
    return HeaderBlock(tuple(fields), end, end)


def unfold(value: bytes) -> bytes:
    """The value on one line: CR and LF removed, the folding blanks kept (as Dovecot does)."""
    return value.replace(b"\r", b"").replace(b"\n", b"")


def header_text(value: bytes) -> str:
    """Raw octets as text: UTF-8 when valid, otherwise each bad octet as U+FFFD."""
    return value.decode("utf-8", errors="replace")


_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_CHARSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:+-]{0,39}$")


def lookup_charset(name: str) -> str | None:
    """Python's codec name for a MIME charset, or None when unknown."""
    name = name.strip().strip('"').lower()
    if not _CHARSET_NAME.match(name) or name in ("unknown-8bit", "x-unknown", "default"):
        return None
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def decode_bytes(raw: bytes, charset: str | None) -> str:
    """Decode `raw` in `charset`; unknown charsets and bad octets never raise."""
    codec = lookup_charset(charset) if charset else None
    if codec is None:
        return header_text(raw)
    try:
        return raw.decode(codec, errors="replace")
    except (LookupError, ValueError, TypeError):  # codecs that are not text codecs
        return header_text(raw)


def _decode_word(encoding: bytes, text: bytes) -> bytes | None:
    if encoding in (b"b", b"B"):
        cleaned = text.rstrip(b"=")
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned, validate=True)
        except (binascii.Error, ValueError):
            return None
    return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text.replace(b"_", b" "))


def decode_header(raw: bytes) -> str:
    """RFC 2047 encoded words decoded, the value unfolded; tolerant of bad charsets."""
    value = unfold(raw)
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    previous_was_word = False
    pos = 0

    def flush() -> None:
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_charset))
            pending.clear()

    for match in _ENCODED_WORD.finditer(value):
        decoded = _decode_word(match.group(2), match.group(3))
        if decoded is None:
            continue  # not a valid word: copied below as plain text
        between = value[pos : match.start()]
        charset = match.group(1).decode("latin-1").split("*", 1)[0]  # RFC 2231 §5 language
        # RFC 2047 §6.2: blanks between two encoded words are dropped.
        if not (previous_was_word and not between.strip(b" \t")):
            flush()
            out.append(header_text(between))
        elif charset.lower() != pending_charset.lower():
            flush()
        pending.append(decoded)
        pending_charset = charset
        previous_was_word = True
        pos = match.end()
    flush()
    out.append(header_text(value[pos:]))
    return "".join(out)
