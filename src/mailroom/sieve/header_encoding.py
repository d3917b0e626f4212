"""Writing header fields that a script supplies: the name checked, the value made safe.

Sieve puts text of the script's choosing into header fields twice: editheader's
`addheader` (RFC 5293 §4) and the vacation reply's Subject and From (RFC 5230 §5).
Both go through here, so that no value can ever carry a line end of its own (a CR or
LF that is not folding would start a new field or end the header: header injection),
non-ASCII text is sent as RFC 2047 encoded words, and long values are folded to lines
of at most 78 characters (RFC 5322 §2.1.1, §2.2.3).

Hand-written rather than `email.header.Header`, whose folding of mixed ASCII and
encoded words varies between Python versions and whose output may contain a line over
the hard limit of 998 octets for a long word.
"""

from __future__ import annotations

import base64
import re

LINE_LIMIT = 78
"""RFC 5322 §2.1.1: lines SHOULD be at most 78 characters, excluding CRLF."""
_LONG_WORD = 900
"""A run without blanks this long cannot be folded (998 is the hard limit, §2.1.1)."""
_FIELD_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 §3.6.8 ftext: %d33-57 / %d59-126
_FOLDING = re.compile(r"\r?\n(?=[ \t])")
_CHARSET_PREFIX = "=?UTF-8?B?"
_ENCODED_WORD_MAX = 75  # RFC 2047 §2


class HeaderValueError(ValueError):
    """A field name or value that may not be written; str() says what was wrong."""


def is_field_name(name: str) -> bool:
    """RFC 5322 §3.6.8: printable US-ASCII but colon, at least one character."""
    return bool(_FIELD_NAME.match(name))


def unfolded_value(value: str) -> str:
    """`value` with folding (a line end followed by a blank) removed, as RFC 5322
    §2.2.3 unfolds; raises HeaderValueError for any other CR, LF or NUL, which would
    end the field early or be dropped by the next server."""
    text = _FOLDING.sub("", value)
    for char in ("\r", "\n", "\0"):
        if char in text:
            shown = {"\r": "CR", "\n": "LF", "\0": "NUL"}[char]
            raise HeaderValueError(f"the value contains a {shown} that is not folding")
    return text


def encode_value(name: str, text: str) -> bytes:
    """The raw value of field `name` carrying `text` (without CR/LF: see
    `unfolded_value`): ASCII as it is, folded at blanks; otherwise (non-ASCII, control
    characters, or a word too long to fold) as RFC 2047 encoded words of UTF-8, one
    per line. Never contains CR or LF except as CRLF followed by a space."""
    if any(c in text for c in "\r\n\0"):
        raise HeaderValueError("the value contains a line end")
    if _needs_encoding(text):
        return _encoded_words(len(name) + 2, text).encode("ascii")
    return _fold(len(name) + 2, text).encode("ascii")


def fold_structured(name: str, text: str) -> bytes:
    """The raw value of a structured field (Content-Type, References, ...), where
    encoded words are not allowed (RFC 2047 §5): folded at blanks, UTF-8 as it is.
    Raises HeaderValueError for CR, LF or NUL."""
    if any(c in text for c in "\r\n\0"):
        raise HeaderValueError("the value contains a line end")
    return _fold(len(name) + 2, text).encode("utf-8", "surrogateescape")


_ATOM_TEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ \t]*$")  # RFC 5322 §3.2.3


def phrase_text(name: str) -> str:
    """A display name as an RFC 5322 phrase: atoms as they are, other ASCII as a
    quoted string, non-ASCII as RFC 2047 encoded words (§5 (3): allowed in a phrase)."""
    text = " ".join(name.replace("\0", " ").split())
    if _needs_encoding(text):
        return _encoded_words(len("From: "), text)
    if _ATOM_TEXT.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _needs_encoding(text: str) -> bool:
    if not text.isascii():
        return True
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in text):
        return True
    return any(len(word) > _LONG_WORD for word in text.split())


def _fold(used: int, text: str) -> str:
    """Fold before a blank wherever the line would pass LINE_LIMIT (§2.2.3): the blank
    stays, the fold is only inserted before it."""
    out: list[str] = []
    column = used
    for piece in re.split(r"(?=[ \t])", text):
        if out and column + len(piece) > LINE_LIMIT and piece[:1] in (" ", "\t"):
            out.append("\r\n")
            column = 0
        out.append(piece)
        column += len(piece)
    return "".join(out)


def _encoded_words(used: int, text: str) -> str:
    """Encoded words of at most 75 characters (RFC 2047 §2), each holding whole
    characters (§5 rule 3: a multi-octet character is never split), folded one per
    line. Blanks between encoded words are ignored by readers (§6.2), so the text's own
    blanks travel inside the words."""
    words: list[str] = []
    chunk = bytearray()
    first_room = LINE_LIMIT - used
    for char in text:
        octets = char.encode("utf-8", "replace")  # a lone surrogate as "?"
        room = first_room if not words else LINE_LIMIT - 1
        limit = min(room, _ENCODED_WORD_MAX)
        if chunk and _word_length(len(chunk) + len(octets)) > max(limit, 16):
            words.append(_word(bytes(chunk)))
            chunk.clear()
        chunk += octets
    if chunk or not words:
        words.append(_word(bytes(chunk)))
    return "\r\n ".join(words)


def _word_length(octets: int) -> int:
    return len(_CHARSET_PREFIX) + 4 * ((octets + 2) // 3) + 2


def _word(octets: bytes) -> str:
    return _CHARSET_PREFIX + base64.b64encode(octets).decode("ascii") + "?="
