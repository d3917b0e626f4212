"""FETCH body sections: which part of a message `BODY[1.2.HEADER.FIELDS (To)]<0.100>` names."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mailroom.message import MessagePart, decode_transfer
from mailroom.message.transfer import IDENTITY_ENCODINGS


class SectionText(enum.Enum):
    """What of the part the section names (RFC 3501 §6.4.5; RFC 9051 §6.4.5)."""

    ALL = ""  # BODY[] or BODY[1.2]: the whole part
    HEADER = "HEADER"
    HEADER_FIELDS = "HEADER.FIELDS"
    HEADER_FIELDS_NOT = "HEADER.FIELDS.NOT"
    TEXT = "TEXT"
    MIME = "MIME"  # only after a part number


@dataclass(frozen=True)
class Section:
    """`part` is the dotted part number (empty: the whole message)."""

    part: tuple[int, ...] = ()
    text: SectionText = SectionText.ALL
    fields: tuple[str, ...] = ()
    """Header names for HEADER.FIELDS(.NOT), as the client wrote them
    (compare case-insensitively)."""


@dataclass(frozen=True)
class Partial:
    """`<start.length>`: at most `length` octets from `start`."""

    start: int
    length: int


# --- Reading a section out of a message (helper functions over mailroom.message) ---


class UnknownTransferEncoding(Exception):
    """BINARY[…] of a part whose Content-Transfer-Encoding we cannot undo (RFC 3516 §4:
    the server answers `NO [UNKNOWN-CTE]`)."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"unknown Content-Transfer-Encoding {encoding!r}")
        self.encoding = encoding


def find_part(root: MessagePart, numbers: tuple[int, ...]) -> MessagePart | None:
    """The part a dotted part number names (RFC 3501 §6.4.5), or None.

    A multipart's numbers name its children; the numbers after a message/rfc822 part
    name the parts of the encapsulated message; a non-multipart message or part has
    only a part 1, itself (its body).
    """
    current = root
    for index, number in enumerate(numbers):
        if number < 1:
            return None
        if index > 0 and current.message is not None:
            current = current.message
        if current.is_multipart:
            if number > len(current.children):
                return None
            current = current.children[number - 1]
        elif number != 1:
            return None
    return current


def _header_fields(
    data: bytes, message: MessagePart, names: tuple[str, ...], include: bool
) -> bytes:
    """HEADER.FIELDS (include) or HEADER.FIELDS.NOT: the matching fields as written,
    then the blank line (which RFC 3501 §6.4.5 counts as part of the header)."""
    wanted = {name.lower() for name in names}
    out = bytearray()
    for field in message.fields:
        if (field.name.lower() in wanted) == include:
            raw = data[field.start : field.end]
            out += raw
            if not raw.endswith(b"\n"):
                out += b"\r\n"
    out += b"\r\n"
    return bytes(out)


def section_data(data: bytes, root: MessagePart, section: Section) -> bytes:
    """The octets BODY[section] returns; b"" for a part that does not exist (as Dovecot)."""
    part = find_part(root, section.part)
    if part is None:
        return b""
    text = section.text
    if text is SectionText.ALL:
        if not section.part:
            return data[root.start : root.end]
        return data[part.body_start : part.end]
    if text is SectionText.MIME:
        if not section.part:
            return b""
        return data[part.start : part.body_start]
    # HEADER, HEADER.FIELDS(.NOT), TEXT: of the message itself, or of the message a
    # message/rfc822 part encapsulates (RFC 3501 §6.4.5).
    message: MessagePart | None = root if not section.part else part.message
    if message is None:
        return b""
    if text is SectionText.HEADER:
        return data[message.start : message.body_start]
    if text is SectionText.TEXT:
        return data[message.body_start : message.end]
    return _header_fields(data, message, section.fields, text is SectionText.HEADER_FIELDS)


def apply_partial(data: bytes, partial: Partial | None) -> bytes:
    """`<start.length>`: the octets from `start`, at most `length`; b"" past the end."""
    if partial is None:
        return data
    if partial.start >= len(data):
        return b""
    return data[partial.start : partial.start + partial.length]


def binary_data(data: bytes, root: MessagePart, section: Section) -> bytes:
    """BINARY[part] (RFC 3516): the part with its transfer encodings undone, as Dovecot
    gives it (index-mail-binary.c): a leaf part's body decoded; a multipart's or a
    message/rfc822's body with each part inside decoded, boundaries as they are; BINARY[]
    the whole message so, its header too. A header whose part was decoded loses its
    Content-Transfer-Encoding fields and ends in `Content-Transfer-Encoding: binary`.

    Raises UnknownTransferEncoding for encodings other than 7bit, 8bit, binary, base64
    and quoted-printable.
    """
    if not section.part:
        return b"".join(_binary_pieces(data, root, with_header=True))
    part = find_part(root, section.part)
    if part is None:
        return b""
    return b"".join(_binary_pieces(data, part, with_header=False))


_DECODED = ("base64", "quoted-printable")
_BINARY_HEADER = b"Content-Transfer-Encoding: binary\r\n"


def _binary_pieces(data: bytes, part: MessagePart, *, with_header: bool) -> list[bytes]:
    encoding = part.encoding
    decoded = encoding in _DECODED
    if not decoded and encoding not in IDENTITY_ENCODINGS:
        raise UnknownTransferEncoding(encoding)
    pieces: list[bytes] = []
    if with_header and decoded:
        position = part.start
        for field in part.fields:
            if field.name.lower() == "content-transfer-encoding":
                pieces.append(data[position : field.start])
                position = field.end
        kept = data[position : part.header_end]
        if kept and not kept.endswith(b"\n"):
            kept += b"\r\n"  # a last field without its line end
        pieces += (kept, _BINARY_HEADER, data[part.header_end : part.body_start])
    elif with_header:
        pieces.append(data[part.start : part.body_start])
    inner = part.children or ((part.message,) if part.message is not None else ())
    if not inner:
        body = data[part.body_start : part.end]
        pieces.append((decode_transfer(body, encoding) or b"") if decoded else body)
        return pieces
    position = part.body_start
    for child in inner:
        pieces.append(data[position : child.start])
        pieces += _binary_pieces(data, child, with_header=True)
        position = child.end
    pieces.append(data[position : part.end])
    return pieces
