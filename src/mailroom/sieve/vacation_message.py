"""The vacation reply as a message (RFC 5230 §5): the octets delivery queues, built
from a `VacationReply`, with no I/O (the date and Message-ID come in as arguments).

The reply carries From (§5.5), To the original's envelope sender (§5.6), Subject
RFC 2047-encoded when not ASCII (§5.4), Date, Message-ID, In-Reply-To and References
(§5.8), `Auto-Submitted: auto-replied` (RFC 3834 §5, so that other responders stay
silent), and MIME-Version. Without `:mime` the reason is the body: text/plain in
UTF-8, quoted-printable when it is not plain ASCII in short lines so that it passes a
relay without 8BITMIME. With `:mime` the reason is a MIME entity (§4.5 of RFC 5230
calls it that): its Content-* fields become the reply's, any other field in it is
dropped, so a script cannot add recipients or other fields this way.

Every line ends in CRLF; nothing the script or the original message supplied can
start a header field of its own (`header_encoding`).
"""

from __future__ import annotations

import quopri
from datetime import datetime
from email.utils import format_datetime

from mailroom.message.addresses import parse_addresses
from mailroom.message.headers import parse_header_block
from mailroom.sieve.actions import VacationReply
from mailroom.sieve.header_encoding import encode_value, fold_structured, phrase_text

_MAX_LINE = 998  # RFC 5322 §2.1.1


def build_reply(reply: VacationReply, *, date: datetime, message_id: str) -> bytes:
    """The whole reply message, header and body, CRLF line ends. `message_id` is the
    new Message-ID with its angle brackets; `date` the moment of sending (aware)."""
    fields: list[tuple[str, bytes]] = [
        ("From", _from_value(reply.from_address)),
        ("To", _angle(reply.sender)),
        ("Subject", encode_value("Subject", reply.subject)),
        ("Date", format_datetime(date).encode("ascii")),
        ("Message-ID", _one_line(message_id)),
    ]
    if reply.in_reply_to:
        fields.append(("In-Reply-To", fold_structured("In-Reply-To", _clean(reply.in_reply_to))))
    if reply.references:
        fields.append(("References", fold_structured("References", _clean(reply.references))))
    fields.append(("Auto-Submitted", b"auto-replied"))
    fields.append(("MIME-Version", b"1.0"))
    if reply.mime:
        entity_fields, body = _mime_entity(reply.reason)
        fields.extend(entity_fields)
    else:
        body_fields, body = _text_body(reply.reason)
        fields.extend(body_fields)
    head = b"".join(name.encode("ascii") + b": " + value + b"\r\n" for name, value in fields)
    return head + b"\r\n" + body


def _clean(text: str) -> str:
    return " ".join(text.replace("\0", " ").split())


def _one_line(text: str) -> bytes:
    return _clean(text).encode("ascii", "replace")


def _angle(address: str) -> bytes:
    return b"<" + _one_line(address.strip("<>")) + b">"


def _from_value(from_address: str) -> bytes:
    """`Name <addr>` with the name as a phrase (quoted or RFC 2047-encoded), or `<addr>`."""
    text = _clean(from_address)
    found = [a for a in parse_addresses(text.encode("utf-8", "surrogateescape")) if a.host]
    if not found:
        return _angle(text)
    address = found[0]
    name = address.display_name
    if not name:
        return _angle(address.addr_spec)
    return phrase_text(name).encode("ascii") + b" " + _angle(address.addr_spec)


def _line_end_crlf(text: str) -> bytes:
    """Text with every line end (CRLF, CR or LF) as CRLF, ending in one."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return b"".join(line.encode("utf-8", "surrogateescape") + b"\r\n" for line in lines)


def _text_body(reason: str) -> tuple[list[tuple[str, bytes]], bytes]:
    body = _line_end_crlf(reason)
    content_type = ("Content-Type", b"text/plain; charset=utf-8")
    if body.isascii() and all(len(line) <= _MAX_LINE for line in body.split(b"\r\n")):
        return [content_type, ("Content-Transfer-Encoding", b"7bit")], body
    encoded = quopri.encodestring(body.replace(b"\r\n", b"\n"))
    if not encoded.endswith(b"\n"):
        encoded += b"\n"
    return [content_type, ("Content-Transfer-Encoding", b"quoted-printable")], encoded.replace(
        b"\n", b"\r\n"
    )


def _mime_entity(reason: str) -> tuple[list[tuple[str, bytes]], bytes]:
    """The entity's Content-* fields (each line-checked) and its body. An entity
    without a header section (no blank line, or a first line that is no field) is
    sent as text/plain, the way RFC 2045 §5.2 defaults a missing Content-Type."""
    data = _line_end_crlf(reason)
    block = parse_header_block(data, 0, len(data))
    if block.body_start == len(data) and block.header_end == len(data):
        return _text_body(reason)
    fields: list[tuple[str, bytes]] = []
    for field in block.fields:
        if field.name.lower().startswith("content-"):
            value = field.value.decode("utf-8", "surrogateescape")
            fields.append((field.name, fold_structured(field.name, _clean(value))))
    if not any(name.lower() == "content-type" for name, _ in fields):
        fields.insert(0, ("Content-Type", b"text/plain; charset=utf-8"))
    return fields, data[block.body_start :]
