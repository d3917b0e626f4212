"""The text of a message for full-text search: header values and decoded text parts.

IMAP SEARCH TEXT and BODY (RFC 9051 §6.4.4) match against this, kept in the store's
index: the header, each field as `Name: decoded value`; and the body, every text/*
part (into encapsulated messages, with their header fields) with its transfer
encoding undone and its charset decoded, HTML without its tags. Each is bounded by
`limit` characters so a huge message costs a bounded amount of work.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple

from mailroom.message.headers import decode_bytes, decode_header
from mailroom.message.mime import MessagePart, parse_message
from mailroom.message.transfer import decode_transfer

_BLANKS = re.compile(r"[ \t\r\n\f\v]+")
_TAG_START = re.compile(r"<[A-Za-z!/?]")


def html_to_text(markup: str) -> str:
    """Tags, comments, scripts and styles removed, entities decoded. A scan rather than
    one regular expression, so that unclosed `<script` or `<!--` cost linear time."""
    lower = markup.lower()
    out: list[str] = []
    pos = 0
    length = len(markup)
    while pos < length:
        tag = _TAG_START.search(markup, pos)
        if tag is None:
            out.append(markup[pos:])
            break
        start = tag.start()
        out.append(markup[pos:start])
        out.append(" ")
        if lower.startswith("<!--", start):
            close = lower.find("-->", start + 4)
            pos = length if close < 0 else close + 3
            continue
        for element in ("script", "style"):
            if lower.startswith("<" + element, start):
                start = lower.find("</" + element, start)
                if start < 0:
                    start = length
                break
        close = markup.find(">", start)
        pos = length if close < 0 else close + 1
    return html.unescape("".join(out))


def part_text(data: bytes, part: MessagePart, *, max_octets: int | None = None) -> str | None:
    """The decoded text of a text/* leaf part (of its first `max_octets` encoded
    octets, when given), or None for other parts."""
    if part.children or part.message is not None or part.content_type.maintype != "text":
        return None
    end = part.end if max_octets is None else min(part.end, part.body_start + max_octets)
    raw = data[part.body_start : end]
    decoded = decode_transfer(raw, part.encoding)
    if decoded is None:
        decoded = raw
    text = decode_bytes(decoded, part.content_type.charset)
    if part.content_type.subtype == "html":
        # Blanks are not significant in HTML (a tag became one too): a reader sees one.
        text = _BLANKS.sub(" ", html_to_text(text))
    return text


class SearchText(NamedTuple):
    """What SEARCH BODY and TEXT look in (RFC 9051 §6.4.4): TEXT in both, BODY in `body`."""

    head: str
    """The message's header fields, `Name: decoded value` a line each."""
    body: str
    """The decoded text parts, with the header fields of encapsulated messages."""


def search_text(data: bytes, *, limit: int) -> SearchText:
    """The header and the body text of `data`, each at most `limit` characters."""
    root = parse_message(data)
    head = "".join(f"{f.name}: {decode_header(f.value)}\n" for f in root.fields)
    embedded = {id(p.message) for p in root.walk() if p.message is not None}
    pieces: list[str] = []
    used = 0
    for part in root.walk():
        if used >= limit:
            break
        found: list[str] = []
        if id(part) in embedded:
            found.extend(f"{f.name}: {decode_header(f.value)}" for f in part.fields)
        # Encoded text is at most a few times longer than the characters it gives.
        text = part_text(data, part, max_octets=(limit - used) * 8 + 4096)
        if text is not None:
            found.append(text)
        pieces.extend(found)
        used += sum(len(piece) + 1 for piece in found)
    return SearchText(head[:limit], "\n".join(pieces)[:limit])
