"""The body test (RFC 5173): which strings of the message body a key is matched against.

`body_strings` turns the message and a body transform into the strings the core's
comparator and match type look at; the test is true when any key matches any string.
It reads at most `limit` octets of the body (RunContext.message.body(limit)), so a
huge message costs a bounded amount of work: text beyond the limit is not seen.

- `:raw` (§5.1): the whole undecoded body, MIME boundaries and part headers included.
- `:content "type"...` (§5.2): the parts whose Content-Type matches one of the types
  ("" every type, "text" a main type, "text/html" one type, anything with a leading,
  trailing or second slash none), searched recursively into multiparts and
  message/rfc822. A matched multipart contributes its prologue and epilogue only; a
  matched message/rfc822 the header of the enclosed message; any other part its
  content, transfer encoding undone and text converted to UTF-8 from its charset.
- `:text` (§5.3, the default): the text of every text/* part as `:content "text"`
  gives it, with text/html's markup removed (the "best effort at extracting text"
  the RFC allows).

A message without the blank line that ends the header has no body: no strings, so
every body test is false (§4). Malformed MIME never raises (mailroom.message reads it
as Dovecot does); bad base64 or an unknown charset gives what can be decoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from mailroom.message.headers import decode_bytes, decode_header
from mailroom.message.mime import MessagePart, parse_message
from mailroom.message.search_text import part_text
from mailroom.message.transfer import decode_transfer
from mailroom.sieve.context import MessageSource

BODY_LIMIT = 4 * 1024 * 1024
"""Octets of the body a body test examines (RFC 5173 §7: the system MUST be sized so
that body matching cannot deny service)."""


class BodyTransform(Enum):
    RAW = "raw"
    CONTENT = "content"
    TEXT = "text"


def body_strings(
    source: MessageSource,
    transform: BodyTransform,
    content_types: Sequence[str] = (),
    *,
    limit: int = BODY_LIMIT,
) -> tuple[str, ...]:
    """The strings a body test matches its keys against (see the module docstring)."""
    if not _has_body(source):
        return ()
    body = source.body(limit)[:limit]
    if transform is BodyTransform.RAW:
        return (body.decode("utf-8", errors="replace"),)
    header = source.header
    if header and not header.endswith(b"\n"):
        header += b"\r\n"
    data = header + b"\r\n" + body
    if transform is BodyTransform.TEXT:
        return tuple(_text_strings(data))
    return tuple(_content_strings(data, content_types))


def _has_body(source: MessageSource) -> bool:
    """The header is followed by the blank line: the message is longer than its header
    section (RFC 5173 §4: a message that is all header has no body to test)."""
    return source.size > len(source.header)


def is_valid_content_type(wanted: str) -> bool:
    """RFC 5173 §5.2: a type with a leading or trailing slash, or more than one slash,
    matches nothing (the validator may warn about it)."""
    return not (wanted.startswith("/") or wanted.endswith("/") or wanted.count("/") > 1)


def content_type_matches(wanted: Sequence[str], maintype: str, subtype: str) -> bool:
    """Whether a part of `maintype/subtype` is selected by any of `wanted` (§5.2)."""
    for item in wanted:
        if not is_valid_content_type(item):
            continue
        if item == "":
            return True
        main, slash, sub = item.lower().partition("/")
        if main == maintype and (not slash or sub == subtype):
            return True
    return False


def _content_strings(data: bytes, wanted: Sequence[str]) -> list[str]:
    out: list[str] = []
    root = parse_message(data)
    # walk() visits a message/rfc822 part and then its enclosed message as a part of
    # its own: the first stands for the enclosed header, the second for its body
    # (matched by the body's own type, as the RFC 5173 §5.2 example shows).
    for part in root.walk():
        content_type = part.content_type
        if not content_type_matches(wanted, content_type.maintype, content_type.subtype):
            continue
        if part.is_multipart:
            out.extend(_prologue_and_epilogue(data, part))
        elif part.message is not None:
            out.append(_header_text(part.message))
        else:
            out.append(_leaf_text(data, part, strip_html=False))
    return out


def _text_strings(data: bytes) -> list[str]:
    out: list[str] = []
    for part in parse_message(data).walk():
        if part.content_type.maintype == "text" and not part.children and part.message is None:
            out.append(_leaf_text(data, part, strip_html=True))
    return out


def _leaf_text(data: bytes, part: MessagePart, *, strip_html: bool) -> str:
    """The content of a leaf part: transfer encoding undone (an unknown one leaves it
    as it is, §5.2 "MAY be treated as plain US-ASCII"), text/* decoded from its charset
    (unknown charsets as UTF-8 with replacement characters), other types as UTF-8."""
    if part.content_type.maintype == "text":
        if strip_html:
            return part_text(data, part) or ""
        raw = data[part.body_start : part.end]
        decoded = decode_transfer(raw, part.encoding)
        return decode_bytes(raw if decoded is None else decoded, part.content_type.charset)
    raw = data[part.body_start : part.end]
    decoded = decode_transfer(raw, part.encoding)
    return (raw if decoded is None else decoded).decode("utf-8", errors="replace")


def _header_text(message: MessagePart) -> str:
    """The enclosed message's header fields, RFC 2047 words decoded, a line each."""
    return "".join(f"{f.name}: {decode_header(f.value)}\r\n" for f in message.fields)


def _prologue_and_epilogue(data: bytes, part: MessagePart) -> list[str]:
    """The text before the first delimiter line and after the close delimiter of a
    multipart (RFC 2046 §5.1.1 preamble and epilogue), each a string of its own so
    that a key cannot match across a part boundary (§5.2)."""
    boundary = part.content_type.params.get("boundary", "")
    if not part.children or not boundary:
        return [_decoded_octets(data[part.body_start : part.end])]
    delimiter = b"--" + boundary.encode("utf-8", "replace")
    first = data.rfind(delimiter, part.body_start, part.children[0].start)
    prologue = data[part.body_start : max(part.body_start, first)]
    out = [_decoded_octets(_without_final_line_end(prologue))]
    close = data.find(delimiter + b"--", part.children[-1].end, part.end)
    if close >= 0:
        line_end = data.find(b"\n", close, part.end)
        if line_end >= 0:
            out.append(_decoded_octets(data[line_end + 1 : part.end]))
    return out


def _without_final_line_end(text: bytes) -> bytes:
    """RFC 2046 §5.1.1: the line end before a delimiter belongs to the delimiter."""
    if text.endswith(b"\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(b"\n") else text


def _decoded_octets(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
