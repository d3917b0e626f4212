"""FETCH ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2): the parsed summary of a header.

Strings are sent raw, as Dovecot sends them: encoded words are not decoded, line
ends of folding are removed; the subject and display names are tidied "for humans"
(tabs as spaces, runs of blanks as one, no leading or trailing blanks, NUL as 0x80).
When a field is repeated the last one counts, as in Dovecot. Sender and Reply-To
default to From when absent or empty. Addresses follow `mailroom.message.addresses`.

The grammar writes some lists back to back without a space: `"(" 1*address ")"` in
an envelope and `1*body SP media-subtype` in a multipart BODYSTRUCTURE. Such lists
are `Juxtaposed` here, and `serialize_structure` writes them that way (Dovecot's
exact form); `wire.serialize` writes them as ordinary lists, with spaces, which
lenient clients accept but strict parsers of the RFC grammar do not.
"""

from __future__ import annotations

import re
from typing import Protocol

from mailroom.imap.wire import Value, serialize, string_pieces
from mailroom.message import Address, parse_addresses, unfold


class HeaderFields(Protocol):
    """What an envelope is made from: a `MessagePart` (an encapsulated message in a
    BODYSTRUCTURE), or the `HeaderIndex` of a message's header alone (FETCH ENVELOPE)."""

    def header_all(self, name: str) -> list[bytes]: ...


class Juxtaposed(list[Value]):
    """A list whose leading run of list items is written without spaces between them
    (RFC 3501 `1*address`, `1*body`); otherwise an ordinary list."""

    __slots__ = ()


def serialize_structure(value: Value, *, utf8: bool = False) -> bytes:
    """`wire.serialize`, except that Juxtaposed lists are written back to back."""
    if not isinstance(value, list | tuple):
        return serialize(value, utf8=utf8)
    out = [b"("]
    leading = isinstance(value, Juxtaposed)
    for index, item in enumerate(value):
        is_list = isinstance(item, list | tuple)
        if index and not (leading and is_list):
            out.append(b" ")
        leading = leading and is_list
        out.append(serialize_structure(item, utf8=utf8))
    out.append(b")")
    return b"".join(out)


def imap_string(raw: bytes) -> str | bytes:
    """Text for a quoted string when it is valid UTF-8; the raw octets otherwise."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _text(value: str | None) -> Value:
    if value is None:
        return None
    return imap_string(value.encode("utf-8", "surrogateescape"))


_BLANK_RUN = re.compile(rb"[ \t]+")


def for_humans(raw: bytes) -> bytes:
    """Dovecot's imap_append_string_for_humans: CR/LF dropped, blanks collapsed and
    trimmed, NUL as 0x80."""
    text = raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"\x80")
    return _BLANK_RUN.sub(b" ", text).strip(b" ")


def address_value(address: Address) -> Value:
    """`(name adl mailbox host)`."""
    name: Value = None
    if address.name is not None:
        name = imap_string(for_humans(address.name.encode("utf-8", "surrogateescape")))
    return [name, _text(address.route), _text(address.mailbox), _text(address.host)]


def address_list(raw: bytes | None) -> Value:
    """A parenthesized list of addresses, or NIL when there are none (RFC 3501 §7.4.2)."""
    if raw is None:
        return None
    addresses = parse_addresses(raw)
    if not addresses:
        return None
    return Juxtaposed(address_value(a) for a in addresses)


def _nstring(raw: bytes | None) -> Value:
    if raw is None:
        return None
    return imap_string(unfold(raw))


def envelope(part: HeaderFields) -> Value:
    """The ENVELOPE of a message (the root part, or an encapsulated message)."""

    def last(name: str) -> bytes | None:
        values = part.header_all(name)
        return values[-1] if values else None

    subject = last("Subject")
    from_ = address_list(last("From"))
    sender = address_list(last("Sender"))
    reply_to = address_list(last("Reply-To"))
    return [
        _nstring(last("Date")),
        None if subject is None else imap_string(for_humans(subject)),
        from_,
        sender if sender is not None else from_,
        reply_to if reply_to is not None else from_,
        address_list(last("To")),
        address_list(last("Cc")),
        address_list(last("Bcc")),
        _nstring(last("In-Reply-To")),
        _nstring(last("Message-ID")),
    ]


def envelope_bytes(part: HeaderFields, *, utf8: bool = False) -> bytes:
    """The ENVELOPE as it goes on the wire (what the store may cache):
    `serialize_structure(envelope(part))`, written straight from the raw octets (a
    string that `imap_string` decodes is encoded again to the same octets), without
    the values in between: every FETCH ENVELOPE of a message not yet cached makes one."""

    def last(name: str) -> bytes | None:
        values = part.header_all(name)
        return values[-1] if values else None

    def string(raw: bytes) -> bytes:
        return b"".join(string_pieces(raw, utf8=utf8))

    def nstring(raw: bytes | None) -> bytes:
        return b"NIL" if raw is None else string(unfold(raw))

    def text(value: str | None) -> bytes:
        return b"NIL" if value is None else string(value.encode("utf-8", "surrogateescape"))

    def addresses(raw: bytes | None) -> bytes:
        found = parse_addresses(raw) if raw is not None else None
        if not found:
            return b"NIL"
        out = [b"("]
        for address in found:
            name = address.name
            out += (
                b"(",
                b"NIL"
                if name is None
                else string(for_humans(name.encode("utf-8", "surrogateescape"))),
                b" ",
                text(address.route),
                b" ",
                text(address.mailbox),
                b" ",
                text(address.host),
                b")",
            )
        out.append(b")")
        return b"".join(out)

    subject = last("Subject")
    from_ = addresses(last("From"))
    sender = addresses(last("Sender"))
    reply_to = addresses(last("Reply-To"))
    fields = (
        nstring(last("Date")),
        b"NIL" if subject is None else string(for_humans(subject)),
        from_,
        from_ if sender == b"NIL" else sender,
        from_ if reply_to == b"NIL" else reply_to,
        addresses(last("To")),
        addresses(last("Cc")),
        addresses(last("Bcc")),
        nstring(last("In-Reply-To")),
        nstring(last("Message-ID")),
    )
    return b"(" + b" ".join(fields) + b")"
