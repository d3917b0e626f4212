"""Content-Transfer-Encoding (RFC 2045 §6): undoing base64 and quoted-printable.

Decoding is tolerant, as mail readers are: base64 ignores characters outside its
alphabet and missing padding; quoted-printable keeps a malformed `=XY` as it is.
"""

from __future__ import annotations

import base64
import binascii
import re

IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary", ""})
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def decode_base64(raw: bytes) -> bytes:
    """Base64 with junk, line breaks and bad padding tolerated."""
    cleaned = _NOT_BASE64.sub(b"", raw.split(b"=", 1)[0] if b"=" in raw else raw)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else None]
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def decode_quoted_printable(raw: bytes) -> bytes:
    """Quoted-printable with soft line breaks (`=` at a line end) removed."""
    return binascii.a2b_qp(raw)


def decode_transfer(raw: bytes, encoding: str) -> bytes | None:
    """The body with its transfer encoding undone; None when the encoding is unknown."""
    encoding = encoding.strip().lower()
    if encoding in IDENTITY_ENCODINGS:
        return raw
    if encoding == "base64":
        return decode_base64(raw)
    if encoding == "quoted-printable":
        return decode_quoted_printable(raw)
    return None
