"""Writing ManageSieve responses (RFC 5804 §4), and how a command handler refuses.

    status("OK", "Logged in.")                       → OK "Logged in."
    status("NO", "No such script.", NONEXISTENT)     → NO (NONEXISTENT) "No such script."
    status("OK", "Done", TAG, "abc")                 → OK (TAG "abc") "Done"
    string(b"keep;\\r\\n")                           → {7}CRLF keep;CRLF (a literal)
    capability("SIEVE", "fileinto vacation")         → "SIEVE" "fileinto vacation"

A string goes out quoted when it can (RFC 5804 §4: at most 1024 octets, no CR, LF or
NUL), else as a literal `{n}`; so a script, or a checker's error of several lines,
always arrives whole. A handler raises `ManageSieveError` with a `Reply`; the session
writes it. Pure: nothing here sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 5804 §1.3 response codes.
AUTH_TOO_WEAK = "AUTH-TOO-WEAK"
ENCRYPT_NEEDED = "ENCRYPT-NEEDED"
"""AUTHENTICATE with a plain-text mechanism before TLS: the client should STARTTLS."""
QUOTA = "QUOTA"
QUOTA_MAXSCRIPTS = "QUOTA/MAXSCRIPTS"
QUOTA_MAXSIZE = "QUOTA/MAXSIZE"
SASL = "SASL"
TRANSITION_NEEDED = "TRANSITION-NEEDED"
TRYLATER = "TRYLATER"
ACTIVE = "ACTIVE"
NONEXISTENT = "NONEXISTENT"
ALREADYEXISTS = "ALREADYEXISTS"
WARNINGS = "WARNINGS"
TAG = "TAG"

MAX_QUOTED = 1024
"""RFC 5804 §4: quoted strings are at most 1024 octets; longer ones go as literals."""

_NEEDS_LITERAL = re.compile(rb"[\x00\r\n]")
_CODE = re.compile(r"[A-Z][A-Z0-9-]*(?:/[A-Z][A-Z0-9-]*)*")


def string(value: str | bytes) -> bytes:
    """A string as the server sends it (RFC 5804 §4 string-s2c): quoted, or `{n}` CRLF
    and the octets when it cannot be quoted. No CRLF after it."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if len(data) <= MAX_QUOTED and not _NEEDS_LITERAL.search(data):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return literal(data)


def literal(data: bytes) -> bytes:
    """`{n}` CRLF and the octets (RFC 5804 §4 literal-s2c): how GETSCRIPT sends a
    script, whatever it holds, as Pigeonhole does."""
    return b"{%d}\r\n" % len(data) + data


def status(
    kind: str, text: str | None = None, code: str | None = None, code_argument: str | None = None
) -> bytes:
    """`OK`, `NO` or `BYE`, an optional response code (with its string argument: TAG,
    SASL) and text, CRLF (RFC 5804 §4 response-ok, response-nobye)."""
    if kind not in ("OK", "NO", "BYE"):
        raise ValueError(f"not a ManageSieve response: {kind!r}")
    parts = [kind.encode("ascii")]
    if code is not None:
        if not _CODE.fullmatch(code):
            raise ValueError(f"not a response code: {code!r}")
        inner = code.encode("ascii")
        if code_argument is not None:
            inner += b" " + string(code_argument)
        parts.append(b"(" + inner + b")")
    if text is not None:
        parts.append(string(text))
    return b" ".join(parts) + b"\r\n"


def capability(name: str, value: str | None = None) -> bytes:
    """One line of the capability response (RFC 5804 §1.7)."""
    line = string(name)
    if value is not None:
        line += b" " + string(value)
    return line + b"\r\n"


@dataclass(frozen=True)
class Reply:
    """A status response the session sends for a command."""

    kind: str
    text: str
    code: str | None = None
    code_argument: str | None = None
    bad_command: bool = False
    """Counts towards the listener's `max_bad_commands` (a command that could not be
    understood or was not allowed here, or a failed login)."""

    def line(self) -> bytes:
        return status(self.kind, self.text, self.code, self.code_argument)


class ManageSieveError(Exception):
    """A refused command: the session answers `reply`. Raise a new one each time."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


def no(text: str, code: str | None = None, *, bad_command: bool = False) -> ManageSieveError:
    return ManageSieveError(Reply("NO", text, code, bad_command=bad_command))


# -- the answers sessions give ----------------------------------------------------------

UNKNOWN_COMMAND = Reply("NO", "Unknown command.", bad_command=True)
AUTHENTICATE_FIRST = Reply("NO", "Authenticate first.", bad_command=True)
ALREADY_AUTHENTICATED = Reply("NO", "Already authenticated.", bad_command=True)
LINE_TOO_LONG = Reply("NO", "Command line too long.", bad_command=True)
TOO_MANY_BAD = Reply("BYE", "Too many invalid commands.")
INTERNAL_ERROR = Reply(
    "NO", "Internal error occurred. Refer to server log for more information.", TRYLATER
)
SHUTTING_DOWN = Reply("BYE", "Server shutting down.", TRYLATER)
INACTIVITY = Reply("BYE", "Disconnected for inactivity.")
TOO_LARGE_TO_SKIP = Reply("BYE", "Too large literal: cannot go on.")
PLAINTEXT_DISALLOWED = Reply(
    "NO",
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.",
    ENCRYPT_NEEDED,
    bad_command=True,
)
"""RFC 5804 §1.3 ENCRYPT-NEEDED: PLAIN and LOGIN where `net.may_send_password` says no."""
AUTHENTICATION_FAILED = Reply("NO", "Authentication failed.", bad_command=True)
AUTHENTICATION_TRYLATER = Reply(
    "NO", "Temporary authentication failure, try again later.", TRYLATER, bad_command=True
)
"""RFC 5804 §1.3 TRYLATER: refused for now (a ban after failed logins), not for the password."""
AUTHENTICATION_ABORTED = Reply("NO", "Authentication aborted by client.", bad_command=True)
AUTHENTICATION_TOO_LONG = Reply("NO", "Authentication response too long.", bad_command=True)
INVALID_AUTHENTICATION = Reply("NO", "Invalid authentication response.", bad_command=True)
UNSUPPORTED_MECHANISM = Reply("NO", "Unsupported authentication mechanism.", bad_command=True)
TLS_UNAVAILABLE = Reply("NO", "TLS is not available.", bad_command=True)
TLS_ACTIVE = Reply("NO", "TLS is already active.", bad_command=True)
