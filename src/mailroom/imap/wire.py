"""Writing IMAP values: the one place that decides quoting, literals and NIL.

Response data is built as plain Python values and serialized here:
    None            → NIL
    int             → a number
    Atom("\\Seen")  → written as it is (atoms, flags, keywords like BODY[1])
    str             → a quoted string, or a literal when it cannot be quoted
    bytes           → the same, for raw message data (a literal when 8-bit/CR/LF)
    Literal8(b"…")  → a literal8 `~{n}` (RFC 3516: only in BINARY answers)
    list / tuple    → a parenthesized list

`response`, `status_response` and `continuation` write whole lines. Pure: the
session sends the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MAX_QUOTED = 1000
"""Longer strings are sent as literals (RFC 9051 §4.3 leaves it to us; Dovecot's
limit is alike), so that no client meets an unbounded quoted string."""

# RFC 9051 §9 ASTRING-CHAR = ATOM-CHAR / resp-specials: printable US-ASCII except
# the atom-specials ( ) { SP CTL % * " \ (`]` is allowed).
_ASTRING_ATOM = re.compile(r'[^\x00-\x20\x7f-\U0010ffff(){%*"\\]+')
_QUOTABLE_ASCII = re.compile(rb"[\x20-\x7e]*")
_SYSTEM_FLAG_ORDER = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent")


class Atom(str):
    """Text written to the client exactly as it is (no quotes)."""

    __slots__ = ()


class Literal8(bytes):
    """Octets sent as a literal8 `~{n}` (RFC 3516 §4.2: BINARY[] data that holds NUL)."""

    __slots__ = ()


Value = None | int | Atom | str | bytes | list["Value"] | tuple["Value", ...]


def quoted(text: str) -> bytes:
    """`text` as a quoted string, `\\` and `"` escaped (the caller checks it may be quoted)."""
    return b'"' + text.encode("utf-8").replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def literal8(data: bytes) -> bytes:
    """RFC 3516 literal8: `~{n}` CRLF and the octets (NUL allowed)."""
    return b"~{%d}\r\n" % len(data) + data


def astring_text(text: str) -> str:
    """`text` as an astring in a line of text: bare when it is an atom, else quoted."""
    if _ASTRING_ATOM.fullmatch(text) and text.upper() != "NIL":
        return text
    return quoted(text).decode("utf-8")


def astring(text: str) -> Atom | str:
    """A Value that serializes `text` as an atom when it can be one, as a string otherwise
    (mailbox names in LIST answers, header names in BODY[HEADER.FIELDS (…)])."""
    if _ASTRING_ATOM.fullmatch(text) and text.upper() != "NIL":
        return Atom(text)
    return text


def string_pieces(data: bytes, *, utf8: bool = False) -> tuple[bytes, ...]:
    """`serialize(data, utf8=utf8)` in pieces to write one after the other: a literal
    is its `{n}` CRLF and the octets themselves, so that a message sent in a FETCH is
    not copied only to put a few bytes in front of it."""
    if len(data) <= MAX_QUOTED and (
        _QUOTABLE_ASCII.fullmatch(data) or (utf8 and _quotable_utf8(data))
    ):
        return (b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"',)
    # CHAR8 excludes NUL: like Dovecot, send NUL as 0x80 rather than break the protocol
    # (only a BINARY answer may hold NUL, and it uses Literal8). Without NUL, replace()
    # returns `data` itself: no copy.
    data = data.replace(b"\x00", b"\x80")
    return (b"{%d}\r\n" % len(data), data)


def _string(data: bytes, *, utf8: bool) -> bytes:
    return b"".join(string_pieces(data, utf8=utf8))


def _quotable_utf8(data: bytes) -> bool:
    """RFC 9051 §9 quoted-char with UTF8-2/3/4 (UTF8=ACCEPT): valid UTF-8, no controls."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(char >= " " and char != "\x7f" and not "\x80" <= char <= "\x9f" for char in text)


def _write(value: Value, out: list[bytes], utf8: bool) -> None:
    if value is None:
        out.append(b"NIL")
    elif isinstance(value, bool):
        raise TypeError("a bool is not an IMAP value")
    elif isinstance(value, int):
        if value < 0:
            raise ValueError("IMAP numbers are not negative")
        out.append(str(value).encode("ascii"))
    elif isinstance(value, Atom):
        out.append(value.encode("utf-8"))
    elif isinstance(value, str):
        out.append(_string(value.encode("utf-8"), utf8=utf8))
    elif isinstance(value, Literal8):
        out.append(literal8(value))
    elif isinstance(value, bytes):
        out.append(_string(value, utf8=utf8))
    elif isinstance(value, list | tuple):
        out.append(b"(")
        for index, item in enumerate(value):
            if index:
                out.append(b" ")
            _write(item, out, utf8)
        out.append(b")")
    else:
        raise TypeError(f"not an IMAP value: {type(value).__name__}")


def serialize(value: Value, *, utf8: bool = False) -> bytes:
    """One value on the wire; `utf8` when the client enabled UTF8=ACCEPT (RFC 6855 §3:
    UTF-8 may then be quoted rather than sent as a literal)."""
    out: list[bytes] = []
    _write(value, out, utf8)
    return b"".join(out)


def format_flags(flags: Iterable[str]) -> Atom:
    """A flag list `(\\Answered \\Seen $Forwarded)`: system flags first in the usual
    order, then keywords sorted, so answers do not change with set iteration order."""
    unique = set(flags)
    system = [flag for flag in _SYSTEM_FLAG_ORDER if flag in unique]
    others = sorted(unique.difference(system), key=lambda flag: (flag.lower(), flag))
    return Atom("(" + " ".join(system + others) + ")")


def _text(text: str) -> bytes:
    """Human-readable text ends the line: no CR or LF may cut it short."""
    return text.replace("\r", " ").replace("\n", " ").encode("utf-8")


def response(tag: str | None, *data: Value, utf8: bool = False) -> bytes:
    """A response line: `* data…` (tag None) or `tag data…`, values separated by SP.

    `response(None, 3, Atom("EXISTS"))` → `* 3 EXISTS\\r\\n`;
    `response(None, Atom("LIST"), [Atom("\\\\HasNoChildren")], ".", "INBOX")`.
    """
    parts = [b"*" if tag is None else tag.encode("ascii")]
    parts.extend(serialize(item, utf8=utf8) for item in data)
    return b" ".join(parts) + b"\r\n"


def status_response(
    tag: str | None,
    status: str,
    text: str,
    code: str | Sequence[Value] | None = None,
    *,
    utf8: bool = False,
) -> bytes:
    """`tag OK [CODE …] text` (RFC 9051 §7.1); status is OK, NO, BAD, PREAUTH or BYE.

    `code` is a text written as it is (`"READ-WRITE"`) or a sequence of values written
    SP-separated inside the brackets:
    `(Atom("COPYUID"), 38505, Atom("304,319"), Atom("3956:3957"))`.
    """
    line = [b"*" if tag is None else tag.encode("ascii"), status.encode("ascii")]
    if code is not None:
        items = [Atom(code)] if isinstance(code, str) else list(code)
        line.append(b"[" + b" ".join(serialize(item, utf8=utf8) for item in items) + b"]")
    if text:
        line.append(_text(text))
    return b" ".join(line) + b"\r\n"


def continuation(text: str = "") -> bytes:
    """A continuation request `+ text` (RFC 9051 §7.5); text may be base64 for SASL,
    and empty (`+ ` alone) for an empty SASL challenge."""
    return b"+ " + _text(text) + b"\r\n"
