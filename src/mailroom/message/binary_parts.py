"""Storing a message that came as binary (an APPEND `~{n}` literal8, RFC 3516 §4.4).

The store keeps messages as Dovecot does: LF line ends on disk, CRLF added back when
serving (store/writing.py). That round trip is exact for text, but not for the body of
a `Content-Transfer-Encoding: binary` part, whose bare LF (or lone CR) octets are data:
they would come back from BINARY[…] as CRLF. Dovecot's answer, followed here
(lib-mail's binary converter, used by its APPEND for literal8): when the message came
as a literal8, each non-multipart part whose transfer encoding is `binary` is stored
base64-encoded, its Content-Transfer-Encoding field rewritten to `base64`. BODY[],
RFC822.SIZE and BODYSTRUCTURE then show the stored, base64 form (as Dovecot's do), and
BINARY[…] decodes it back to the octets the client sent, byte for byte.

A message that names no binary part is stored as it came, whatever its literal: a
bare LF outside such a part is a line end, as it is for Dovecot.
"""

from __future__ import annotations

import base64
import re

from mailroom.message.mime import MessagePart, parse_message

BASE64_HEADER = b"Content-Transfer-Encoding: base64\r\n"
_LINE_OCTETS = 57
"""Octets per base64 line: 76 characters (RFC 2045 §6.8), as Dovecot writes them."""
# Only a message with such a field can have a part to convert: a cheap test first.
_BINARY_FIELD = re.compile(rb"(?im)^content-transfer-encoding:[ \t]*binary")


def encode_binary_parts(data: bytes) -> bytes:
    """`data` with the body of every `Content-Transfer-Encoding: binary` leaf part
    base64-encoded (and that field rewritten); `data` itself when there is none."""
    if _BINARY_FIELD.search(data) is None:
        return data
    parts = [part for part in parse_message(data).walk() if _converted(part)]
    if not parts:
        return data
    out = bytearray()
    position = 0
    for part in sorted(parts, key=lambda part: part.start):
        field = next(f for f in part.fields if f.name.lower() == "content-transfer-encoding")
        out += data[position : field.start]
        out += BASE64_HEADER
        out += data[field.end : part.body_start]
        out += base64_lines(data[part.body_start : part.end])
        position = part.end
    out += data[position:]
    return bytes(out)


def base64_lines(body: bytes) -> bytes:
    """Base64 in lines of 76 characters joined by CRLF, without a final line end (the
    line end before a boundary belongs to the boundary)."""
    return b"\r\n".join(
        base64.b64encode(body[start : start + _LINE_OCTETS])
        for start in range(0, len(body), _LINE_OCTETS)
    )


def _converted(part: MessagePart) -> bool:
    """A part that holds octets itself (not a multipart, not a message/rfc822) and whose
    Content-Transfer-Encoding counts (see MessagePart.is_mime) and is `binary`."""
    return (
        not part.is_multipart
        and part.message is None
        and part.encoding == "binary"
        and part.transfer_encoding is not None
    )
