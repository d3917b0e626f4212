"""Writing POP3 responses: status lines, SASL challenges and multi-line bodies.

    ok("2 320")                     → +OK 2 320
    err("No such message.")         → -ERR No such message.
    err("Mailbox locked.", IN_USE)  → -ERR [IN-USE] Mailbox locked.
    continuation(b"VXNlcm5hbWU6")   → + VXNlcm5hbWU6 (a SASL challenge)
    multiline([b"1 120", b"2 200"]) → the lines, then "."
    dot_stuffed(message)            → a message as the body of a RETR answer
    dot_stuffed_parts(message)      → the same in pieces (the message not copied)
    top(message, 10)                → its header and first 10 body lines, for TOP

A multi-line answer is the `ok(...)` line followed by one of the last three. This is
the one place that decides dot-stuffing (RFC 1939 §3), so that no line of a message
ever ends an answer early. Pure: the session sends the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailroom.message.headers import crlf_body_start

MAX_LINE = 512
"""RFC 1939 §3, RFC 2449 §4: a response's first line is at most 512 octets, CRLF
included. `ok` and `err` refuse to write a longer one (a bug in the caller: texts are
ours, and must not echo long client input)."""

TERMINATOR = b".\r\n"
"""RFC 1939 §3: the line that ends a multi-line response."""

# RFC 2449 §8 response codes (and RFC 3206's), for `err(text, code)`.
IN_USE = "IN-USE"
"""RFC 2449 §8.1.1: the maildrop is locked by another session."""
LOGIN_DELAY = "LOGIN-DELAY"
"""RFC 2449 §8.1.2: the user logs in more often than the LOGIN-DELAY capability allows."""
SYS_TEMP = "SYS/TEMP"
"""RFC 3206 §4: a temporary system failure; the client may try again later."""
SYS_PERM = "SYS/PERM"
"""RFC 3206 §4: a permanent system failure; trying again will not help."""
AUTH = "AUTH"
"""RFC 3206 §5: the credentials were refused (as opposed to a system failure)."""

# RFC 2449 §3: resp-code = "[" resp-level *("/" resp-level) "]", resp-level = 1*rchar,
# rchar = printable ASCII except "/" and "]" (and we keep DEL out).
_RESPONSE_CODE = re.compile(r"[\x21-\x2e\x30-\x5c\x5e-\x7e]+(?:/[\x21-\x2e\x30-\x5c\x5e-\x7e]+)*")
_LINE_BREAKING = re.compile(r"[\x00\r\n]")
_LINE_WITH_DOT = re.compile(rb"\n\.")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


def ok(text: str = "") -> bytes:
    """`+OK text` CRLF; `+OK` CRLF when there is no text."""
    return _status_line(b"+OK", text)


def err(text: str, code: str | None = None) -> bytes:
    """`-ERR [CODE] text` CRLF (RFC 2449 §8; only announce codes after CAPA's RESP-CODES,
    which clients of RFC 1939 ignore as part of the text)."""
    if code is not None:
        if not _RESPONSE_CODE.fullmatch(code):
            raise ValueError(f"not an RFC 2449 response code: {code!r}")
        text = f"[{code}] {text}" if text else f"[{code}]"
    return _status_line(b"-ERR", text)


def continuation(encoded: bytes) -> bytes:
    """A SASL challenge (RFC 5034 §4): `+ `, the challenge already in base64 (as
    `mailroom.auth.sasl.run_exchange` hands it over), CRLF. An empty challenge is `+ `
    alone."""
    if not _BASE64.fullmatch(encoded):
        raise ValueError("a SASL challenge that is not base64")
    return b"+ " + encoded + b"\r\n"


def multiline(lines: Iterable[bytes]) -> bytes:
    """The body of a multi-line listing (LIST, UIDL, CAPA): each line and CRLF, then the
    terminator. A line starting with "." is stuffed, as every multi-line line is."""
    out: list[bytes] = []
    for line in lines:
        if b"\r" in line or b"\n" in line:
            raise ValueError("a line of a listing holds CR or LF")
        if line.startswith(b"."):
            out.append(b".")
        out.append(line)
        out.append(b"\r\n")
    out.append(TERMINATOR)
    return b"".join(out)


def dot_stuffed(message: bytes) -> bytes:
    """`message` (CRLF line ends, as the store serves it) as the body of a multi-line
    answer (RFC 1939 §3): each line starting with "." gets another "." in front, the
    data ends with CRLF (added when the message lacks it), then the terminator.
    `dot_stuffed_parts` joined."""
    return b"".join(dot_stuffed_parts(message))


def dot_stuffed_parts(message: bytes) -> tuple[bytes, ...]:
    """`dot_stuffed(message)` in pieces, `message` itself among them when no line needs
    stuffing (most messages): RETR hands them to the connection, which joins the
    answers of a burst of pipelined commands into one write anyway, so the message is
    not copied one more time only to be copied again there.

    No loop over lines: one bytes.replace at most, so a message of many megabytes
    costs one copy. A "." after a bare LF is stuffed too: the store never gives one
    (`store.snapshot.crlf`), but a client that splits lines at LF (poplib does) must not
    meet a lone "." before the real end, whatever the message holds."""
    # Most messages have no line to stuff: finding that out with the regex engine costs
    # a third of what bytes.replace's own search does (6.5 KB of prose: 1.7 against 4.8 µs).
    stuffed = message.replace(b"\n.", b"\n..") if _LINE_WITH_DOT.search(message) else message
    end = TERMINATOR if stuffed.endswith(b"\r\n") else b"\r\n" + TERMINATOR
    if stuffed.startswith(b"."):
        return b".", stuffed, end
    return stuffed, end


def top(message: bytes, lines: int) -> bytes:
    """The answer body of TOP (RFC 1939 §7): the header, the blank line after it and the
    first `lines` lines of the body, dot-stuffed and terminated as `dot_stuffed` does.
    A message without a blank line is all header; a body shorter than `lines` is sent
    whole."""
    if lines < 0:
        raise ValueError("TOP's line count is not negative")
    body_start = crlf_body_start(message)
    if body_start is None:
        return dot_stuffed(message)
    body = message[body_start:]
    if lines > body.count(b"\r\n"):  # the whole body (its last line may lack CRLF)
        return dot_stuffed(message)
    # split with maxsplit cuts the first `lines` lines off in C; the last piece is the
    # part of the body not sent.
    pieces = body.split(b"\r\n", lines)
    return dot_stuffed(message[: len(message) - len(pieces[-1])])


def _status_line(status: bytes, text: str) -> bytes:
    if _LINE_BREAKING.search(text):
        raise ValueError("a response text holds NUL, CR or LF")
    line = status + b" " + text.encode("utf-8") + b"\r\n" if text else status + b"\r\n"
    if len(line) > MAX_LINE:
        raise ValueError(f"a response line of {len(line)} octets (at most {MAX_LINE})")
    return line
