"""POP3 command lines into typed commands (RFC 1939 §3-§7, RFC 2449, RFC 2595, RFC 5034).

`parse_command` takes one line as the connection layer read it, without its CRLF, and
returns one of the command dataclasses below, or raises `CommandError` (a bad command,
answered by the session as any `replies.Pop3Error`) carrying the text to send after
`-ERR `. The client's lines during an AUTH exchange go as they are to
`mailroom.auth.sasl.run_exchange`, as in IMAP and SMTP. Grammar only: whether a command
is allowed in the current state (USER after login, RETR before it, STLS on a TLS
connection) is the session's to decide. Pure: no socket, no clock, no configuration.

Hand-written: no maintained Python library serves POP3 (poplib is a client; see
DESIGN.md), and the grammar is a keyword and a few words.

Where the RFCs leave room we do as Dovecot: keywords in any case; several spaces between
arguments, and trailing spaces, are accepted (a leading space is not); PASS takes the
rest of the line after its single space, spaces and all. Message numbers are decimal
ASCII digits (leading zeros accepted, `007` is 7). User names and passwords must be
UTF-8, as in the SASL mechanisms (`mailroom.auth.sasl`), so that both ways of logging in
hand the Authenticator the same `str`; a line that is not UTF-8 is refused, not guessed.
Error texts are ASCII and never echo an argument (it may be a password).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from mailroom.auth.sasl import EMPTY_INITIAL_RESPONSE
from mailroom.pop3.replies import ErrReply, Pop3Error

MAX_COMMAND_LINE = 255
"""RFC 2449 §4: a command line is at most 255 octets, CRLF included (so 253 without)."""
MAX_NUMBER = 2**31 - 1
"""Largest message number or TOP line count accepted (Dovecot's limit too): no
arithmetic on them surprises anyone."""

# RFC 1939 §3: keywords are three or four characters, case-insensitive.
_KEYWORD = re.compile(rb"[A-Za-z]{3,4}")
# A bytes pattern: [0-9] is ASCII only, so no Unicode digit, sign or space gets through.
_NUMBER = re.compile(rb"[0-9]+")
# A user name: printable, no space, no control; 8-bit allowed (and must be UTF-8).
_USER_NAME = re.compile(rb"[^\x00-\x20\x7f]+")
# A password: anything but NUL (RFC 4616 refuses it too), CR and LF.
_PASSWORD = re.compile(rb"[^\x00\r\n]+")
# RFC 1939 §7 APOP: the digest is 16 octets in lower-case hexadecimal.
_DIGEST = re.compile(rb"[0-9a-f]{32}")
# RFC 4422 §3.1: a SASL mechanism name is 1-20 of A-Z 0-9 - _ (compared in upper case).
_MECHANISM = re.compile(rb"[A-Za-z0-9_-]{1,20}")


class CommandError(Pop3Error):
    """A command line that does not follow the grammar: answer `-ERR <message>`, a bad
    command (the session answers it as any `Pop3Error`).

    Not a frozen dataclass, though it is as immutable: Python (and pytest, and hypothesis)
    add notes to an exception in flight, which a frozen dataclass would refuse."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrReply(message))

    @property
    def message(self) -> str:
        """ASCII text for the client, without the `-ERR ` and the CRLF."""
        return self.reply.text


# --- Commands ---------------------------------------------------------------------
# One dataclass per command; `name` is its keyword, upper case.


@dataclass(frozen=True)
class User:
    """RFC 1939 §7: USER name."""

    name: ClassVar[str] = "USER"
    username: str


@dataclass(frozen=True)
class Pass:
    """RFC 1939 §7: PASS string (the rest of the line, spaces and all)."""

    name: ClassVar[str] = "PASS"
    password: str = field(repr=False)


@dataclass(frozen=True)
class Apop:
    """RFC 1939 §7: APOP name digest. Parsed so that it can be refused politely."""

    name: ClassVar[str] = "APOP"
    username: str
    digest: str
    """32 lower-case hexadecimal characters."""


@dataclass(frozen=True)
class Auth:
    """RFC 5034 §4: AUTH [mechanism [initial-response]]; without a mechanism, the client
    asks for the list of mechanisms (RFC 1734 practice, kept by RFC 5034 clients)."""

    name: ClassVar[str] = "AUTH"
    mechanism: str | None = None
    """Upper-cased."""
    initial_response: bytes | None = field(default=None, repr=False)
    """Base64 as sent (`=` for an empty one), checked to be strict base64: what
    `run_exchange` takes. Kept out of repr, it may hold a password."""


@dataclass(frozen=True)
class Stat:
    """RFC 1939 §5: STAT."""

    name: ClassVar[str] = "STAT"


@dataclass(frozen=True)
class List:
    """RFC 1939 §5: LIST [msg]."""

    name: ClassVar[str] = "LIST"
    number: int | None = None


@dataclass(frozen=True)
class Retr:
    """RFC 1939 §5: RETR msg."""

    name: ClassVar[str] = "RETR"
    number: int


@dataclass(frozen=True)
class Dele:
    """RFC 1939 §5: DELE msg."""

    name: ClassVar[str] = "DELE"
    number: int


@dataclass(frozen=True)
class Noop:
    """RFC 1939 §5: NOOP."""

    name: ClassVar[str] = "NOOP"


@dataclass(frozen=True)
class Rset:
    """RFC 1939 §5: RSET."""

    name: ClassVar[str] = "RSET"


@dataclass(frozen=True)
class Quit:
    """RFC 1939 §4, §6: QUIT."""

    name: ClassVar[str] = "QUIT"


@dataclass(frozen=True)
class Top:
    """RFC 1939 §7: TOP msg n; `lines` may be 0 (the header only)."""

    name: ClassVar[str] = "TOP"
    number: int
    lines: int


@dataclass(frozen=True)
class Uidl:
    """RFC 1939 §7: UIDL [msg]."""

    name: ClassVar[str] = "UIDL"
    number: int | None = None


@dataclass(frozen=True)
class Capa:
    """RFC 2449 §5: CAPA."""

    name: ClassVar[str] = "CAPA"


@dataclass(frozen=True)
class Stls:
    """RFC 2595 §4: STLS."""

    name: ClassVar[str] = "STLS"


Command = (
    User
    | Pass
    | Apop
    | Auth
    | Stat
    | List
    | Retr
    | Dele
    | Noop
    | Rset
    | Quit
    | Top
    | Uidl
    | Capa
    | Stls
)


# --- Reading a line ---------------------------------------------------------------


def parse_command(line: bytes) -> Command:
    """The command on `line` (without its CRLF), or CommandError saying what is wrong."""
    if len(line) + 2 > MAX_COMMAND_LINE:
        raise CommandError(f"Command line too long (at most {MAX_COMMAND_LINE} octets).")
    keyword, _, rest = line.partition(b" ")
    if not _KEYWORD.fullmatch(keyword):
        raise CommandError("Unknown command.")
    name = keyword.decode("ascii").upper()
    reader = _READERS.get(name)
    if reader is None:
        raise CommandError(f"Unknown command: {name}.")
    return reader(rest)


def _arguments(rest: bytes) -> list[bytes]:
    # Words separated by one or more spaces; trailing spaces ignored. Only SP separates
    # (RFC 1939 §3): a TAB stays inside its word, and the word is then refused.
    return [word for word in rest.split(b" ") if word]


def _no_arguments(command: type[Stat | Noop | Rset | Quit | Capa | Stls]) -> _Reader:
    def read(rest: bytes) -> Command:
        if _arguments(rest):
            raise CommandError(f"{command.name} takes no arguments.")
        return command()

    return read


def _user(rest: bytes) -> User:
    words = _arguments(rest)
    if len(words) != 1:
        raise CommandError("Syntax: USER name.")
    return User(_user_name(words[0]))


def _pass(rest: bytes) -> Pass:
    # RFC 1939 §7 allows the password to hold spaces; like Dovecot we take every octet
    # after the single space that ends the keyword.
    if not rest:
        raise CommandError("Syntax: PASS password.")
    if not _PASSWORD.fullmatch(rest):
        raise CommandError("Invalid characters in password.")
    try:
        return Pass(rest.decode("utf-8"))
    except UnicodeDecodeError:
        raise CommandError("Password is not UTF-8.") from None


def _apop(rest: bytes) -> Apop:
    words = _arguments(rest)
    if len(words) != 2:
        raise CommandError("Syntax: APOP name digest.")
    username, digest = words
    if not _DIGEST.fullmatch(digest):
        raise CommandError("Invalid APOP digest (32 lower-case hexadecimal digits).")
    return Apop(_user_name(username), digest.decode("ascii"))


def _auth(rest: bytes) -> Auth:
    words = _arguments(rest)
    if not words:
        return Auth()
    if len(words) > 2:
        raise CommandError("Syntax: AUTH [mechanism [initial-response]].")
    if not _MECHANISM.fullmatch(words[0]):
        raise CommandError("Invalid SASL mechanism name.")
    mechanism = words[0].decode("ascii").upper()
    if len(words) == 1:
        return Auth(mechanism)
    # RFC 5034 §4: the initial response is base64, and "=" is an empty one.
    response = words[1]
    if response != EMPTY_INITIAL_RESPONSE and _base64(response) is None:
        raise CommandError("Invalid base64 in initial response.")
    return Auth(mechanism, response)


def _list(rest: bytes) -> List:
    return List(_optional_number(rest, "Syntax: LIST [msg]."))


def _uidl(rest: bytes) -> Uidl:
    return Uidl(_optional_number(rest, "Syntax: UIDL [msg]."))


def _retr(rest: bytes) -> Retr:
    words = _arguments(rest)
    if len(words) != 1:
        raise CommandError("Syntax: RETR msg.")
    return Retr(_message_number(words[0]))


def _dele(rest: bytes) -> Dele:
    words = _arguments(rest)
    if len(words) != 1:
        raise CommandError("Syntax: DELE msg.")
    return Dele(_message_number(words[0]))


def _top(rest: bytes) -> Top:
    words = _arguments(rest)
    if len(words) != 2:
        raise CommandError("Syntax: TOP msg n.")
    number = _message_number(words[0])
    lines = _number(words[1])
    if lines is None:
        raise CommandError("Invalid line count.")
    return Top(number, lines)


def _optional_number(rest: bytes, usage: str) -> int | None:
    words = _arguments(rest)
    if len(words) > 1:
        raise CommandError(usage)
    return _message_number(words[0]) if words else None


def _message_number(word: bytes) -> int:
    # RFC 1939 §3: messages are numbered from 1.
    number = _number(word)
    if number is None or number == 0:
        raise CommandError("Invalid message number.")
    return number


def _number(word: bytes) -> int | None:
    """0..MAX_NUMBER from ASCII digits, or None. The line is at most 253 octets, so
    int() never meets a string long enough to be slow."""
    if not _NUMBER.fullmatch(word):
        return None
    number = int(word)
    return number if number <= MAX_NUMBER else None


def _user_name(word: bytes) -> str:
    if not _USER_NAME.fullmatch(word):
        raise CommandError("Invalid characters in user name.")
    try:
        return word.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError("User name is not UTF-8.") from None


def _base64(data: bytes) -> bytes | None:
    """Strictly decoded base64, or None."""
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


_Reader = Callable[[bytes], Command]
_READERS: dict[str, _Reader] = {
    "USER": _user,
    "PASS": _pass,
    "APOP": _apop,
    "AUTH": _auth,
    "STAT": _no_arguments(Stat),
    "LIST": _list,
    "RETR": _retr,
    "DELE": _dele,
    "NOOP": _no_arguments(Noop),
    "RSET": _no_arguments(Rset),
    "QUIT": _no_arguments(Quit),
    "TOP": _top,
    "UIDL": _uidl,
    "CAPA": _no_arguments(Capa),
    "STLS": _no_arguments(Stls),
}
