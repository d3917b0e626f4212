"""Content-Transfer-Encoding (RFC 2045 §6): undoing base64 and quoted-printable.

Decoding is tolerant, as mail readers are: base64 ignores characters outside its
alphabet and missing padding; quoted-printable keeps a malformed `=XY` as it is
(as Dovecot does).
"""

from __future__ import annotations

import base64
import binascii
import re

IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary", ""})
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
# RFC 2045 §6.7: `=XX` is an octet (lower-case hex tolerated); `=` followed by white
# space up to the line end is a soft line break (rule 5); white space at the end of
# a line was added in transport and is deleted (rule 3). The end of the input ends
# the last line. The look-behind lets only the start of a run of blanks try to
# match, which keeps a long run that is not at a line end linear, not quadratic.
_QP_ESCAPE = re.compile(rb"=(?:([0-9A-Fa-f]{2})|[ \t]*(?:\r?\n|\Z))|(?<![ \t])[ \t]+(?=\r?\n|\Z)")


def decode_base64(raw: bytes) -> bytes:
    """Base64 with junk, line breaks and bad padding tolerated."""
    cleaned = _NOT_BASE64.sub(b"", raw.split(b"=", 1)[0] if b"=" in raw else raw)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else None]
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _unescape(match: re.Match[bytes]) -> bytes:
    hex_digits = match.group(1)
    return bytes.fromhex(hex_digits.decode("ascii")) if hex_digits else b""


def decode_quoted_printable(raw: bytes) -> bytes:
    """Quoted-printable with `=XX` decoded, soft line breaks and trailing white space
    removed, and any other `=` kept as it is; never longer than `raw`."""
    return _QP_ESCAPE.sub(_unescape, raw)


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
