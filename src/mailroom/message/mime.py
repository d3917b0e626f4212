"""The MIME structure of a message: a tree of parts with byte offsets into the message.

Hand-written because `email.parser` gives no byte offsets, and IMAP needs them: FETCH
BODY[1.2.MIME] returns octets exactly as stored, BODYSTRUCTURE counts sizes and lines
of each body. The stdlib still does the small jobs (codecs, base64, quoted-printable).

Reading follows RFC 2045/2046 and degrades the way Dovecot does instead of raising:
  - no or unparsable Content-Type → text/plain; charset=us-ascii (RFC 2045 §5.2),
    message/rfc822 inside multipart/digest (RFC 2046 §5.1.5);
  - a multipart without a boundary parameter, or whose boundary never appears, has
    no children; a missing close delimiter ends the last part at the end of the
    enclosing body; a delimiter line may end in blanks, but not in other text;
  - Content-* fields count only in a part that is MIME: inside a multipart, or with
    MIME-Version or Content-Type (Dovecot's rule);
  - the CRLF before a delimiter line belongs to the delimiter (RFC 2046 §5.1.1);
  - message/rfc822 and message/global bodies are parsed as messages of their own;
  - past MAX_DEPTH levels a multipart is read as text/plain and a message/rfc822
    body is left unparsed; parts beyond MAX_PARTS are left out of their parent's
    children. Both bound the work on hostile input.
Bare LF line ends, NULs and 8-bit octets are accepted as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mailroom.message.headers import HeaderField, parse_header_block, unfold
from mailroom.message.parameters import (
    MESSAGE_RFC822,
    TEXT_PLAIN,
    ContentType,
    HeaderParameters,
    parse_content_type,
    parse_header_parameters,
    strip_comments,
)

MAX_DEPTH = 100
"""Multipart/message nesting levels that are parsed (Dovecot's default is 100 too)."""
MAX_PARTS = 10_000
"""MIME parts per message that are parsed (Dovecot's default total is 10000 too)."""

_TOKEN = re.compile(r"^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$")  # RFC 2045 §5.1 token


@dataclass(frozen=True, eq=False)
class MessagePart:
    """One part (or the message itself). Offsets index the bytes given to parse_message.

    `data[start:body_start]` is the header block with its blank line (IMAP's HEADER or
    MIME); `data[body_start:end]` is the body. `header_end` is where the fields end,
    i.e. where the blank line starts.
    """

    start: int
    header_end: int
    body_start: int
    end: int
    fields: tuple[HeaderField, ...]
    content_type: ContentType
    children: tuple[MessagePart, ...] = ()
    """The parts of a multipart, in order."""
    message: MessagePart | None = None
    """The encapsulated message of a message/rfc822 (or message/global) part."""
    is_mime: bool = True
    """Whether Content-* fields count: the part is in a multipart or has MIME-Version or
    Content-Type (Dovecot's rule); otherwise they are ignored as RFC 2045 §4 allows."""
    lines: int = 0
    """Lines of the body (LF count), as BODYSTRUCTURE reports for text/* and message/rfc822."""
    size: int = 0
    """Octets of the body."""
    _index: dict[str, list[bytes]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        """(name as written, raw value) of each field, in order."""
        return [(f.name, f.value) for f in self.fields]

    def header_all(self, name: str) -> list[bytes]:
        """Raw values of every field called `name` (case-insensitive), in order."""
        if not self._index and self.fields:
            for f in self.fields:
                self._index.setdefault(f.name.lower(), []).append(f.value)
        return self._index.get(name.lower(), [])

    def header(self, name: str) -> bytes | None:
        """Raw value of the first field called `name`, or None."""
        values = self.header_all(name)
        return values[0] if values else None

    def _single_line(self, name: str) -> bytes | None:
        value = self.header(name) if self.is_mime else None
        return None if value is None else unfold(value).strip()

    @property
    def is_multipart(self) -> bool:
        return self.content_type.maintype == "multipart"

    @property
    def transfer_encoding(self) -> str | None:
        """Content-Transfer-Encoding as written, or None when absent or not one token."""
        value = self._single_line("Content-Transfer-Encoding")
        if value is None:
            return None
        text = strip_comments(value.decode("latin-1")).strip()
        return text if _TOKEN.match(text) else None

    @property
    def encoding(self) -> str:
        """Content-Transfer-Encoding, lower-cased; 7bit when absent (RFC 2045 §6.1)."""
        return (self.transfer_encoding or "7bit").lower()

    @property
    def disposition(self) -> HeaderParameters | None:
        value = self.header("Content-Disposition") if self.is_mime else None
        return None if value is None else parse_header_parameters(value)

    @property
    def language(self) -> list[str] | None:
        """Content-Language tags (RFC 3282), or None."""
        value = self._single_line("Content-Language")
        if value is None:
            return None
        tags = [t.strip() for t in value.decode("latin-1").replace(" ", ",").split(",")]
        return [t for t in tags if t] or None

    @property
    def location(self) -> bytes | None:
        return self._single_line("Content-Location")

    @property
    def content_id(self) -> bytes | None:
        return self._single_line("Content-ID")

    @property
    def description(self) -> bytes | None:
        return self._single_line("Content-Description")

    @property
    def md5(self) -> bytes | None:
        return self._single_line("Content-MD5")

    def walk(self) -> Iterator[MessagePart]:
        """This part and every part below it (into encapsulated messages), depth first."""
        stack: list[MessagePart] = [self]
        while stack:
            part = stack.pop()
            yield part
            if part.message is not None:
                stack.append(part.message)
            stack.extend(reversed(part.children))


class _Budget:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts = 0


def parse_message(data: bytes) -> MessagePart:
    """The structure of `data` (a whole message, CRLF line ends); never raises on junk."""
    return _parse_part(data, 0, len(data), TEXT_PLAIN, 0, _Budget())


def _parse_part(
    data: bytes,
    start: int,
    end: int,
    default: ContentType,
    depth: int,
    budget: _Budget,
    in_multipart: bool = False,
) -> MessagePart:
    budget.parts += 1
    block = parse_header_block(data, start, end)
    first: dict[str, bytes] = {}
    for f in block.fields:
        first.setdefault(f.name.lower(), f.value)
    is_mime = in_multipart or "mime-version" in first or "content-type" in first
    content_type = parse_content_type(first.get("content-type"), default)
    body_start = block.body_start
    children: tuple[MessagePart, ...] = ()
    message: MessagePart | None = None
    nested_allowed = depth < MAX_DEPTH and budget.parts < MAX_PARTS
    if content_type.maintype == "multipart":
        boundary = content_type.params.get("boundary")
        if not nested_allowed:
            content_type = TEXT_PLAIN
        elif boundary:
            child_default = MESSAGE_RFC822 if content_type.subtype == "digest" else TEXT_PLAIN
            ranges = _split_multipart(data, body_start, end, _boundary_octets(content_type))
            built: list[MessagePart] = []
            for child_start, child_end in ranges:
                if budget.parts >= MAX_PARTS:
                    break
                built.append(
                    _parse_part(
                        data, child_start, child_end, child_default, depth + 1, budget, True
                    )
                )
            children = tuple(built)
    elif nested_allowed and content_type.mime_type in ("message/rfc822", "message/global"):
        # Parsed whatever its Content-Transfer-Encoding (RFC 2046 §5.2.1 allows only
        # identity encodings; Dovecot parses it regardless, and BODYSTRUCTURE needs an
        # envelope for every message/rfc822).
        message = _parse_part(data, body_start, end, TEXT_PLAIN, depth + 1, budget)
    return MessagePart(
        start=start,
        header_end=block.header_end,
        body_start=body_start,
        end=end,
        fields=block.fields,
        content_type=content_type,
        children=children,
        message=message,
        is_mime=is_mime,
        lines=data.count(b"\n", body_start, end),
        size=end - body_start,
    )


def _boundary_octets(content_type: ContentType) -> bytes:
    for name, value in content_type.imap_params:
        if name == "boundary":
            return value.encode("utf-8", "surrogateescape")
    return content_type.params.get("boundary", "").encode("utf-8", "replace")


def _split_multipart(data: bytes, start: int, end: int, boundary: bytes) -> list[tuple[int, int]]:
    """Ranges of the parts between delimiter lines `--boundary` in data[start:end]."""
    delimiter = b"--" + boundary
    ranges: list[tuple[int, int]] = []
    part_start: int | None = None
    pos = start
    while pos < end:
        found = data.find(delimiter, pos, end)
        if found < 0:
            break
        pos = found + len(delimiter)
        if found != start and data[found - 1] != 0x0A:
            continue  # not at the start of a line
        newline = data.find(b"\n", pos, end)
        line_end = end if newline < 0 else newline + 1
        rest = data[pos:line_end].rstrip(b"\r\n")
        closing = rest.startswith(b"--")
        if not closing and rest.strip(b" \t"):
            continue  # `--boundaryX`: a longer boundary, not ours
        # RFC 2046 §5.1.1: the line end before the delimiter belongs to it.
        before = found
        if before > start and data[before - 1] == 0x0A:
            before -= 1
            if before > start and data[before - 1] == 0x0D:
                before -= 1
        if part_start is not None:
            ranges.append((part_start, max(part_start, before)))
        if closing:
            return ranges
        part_start = line_end
        pos = line_end
    if part_start is not None:
        ranges.append((part_start, end))
    return ranges
