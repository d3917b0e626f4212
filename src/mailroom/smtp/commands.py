"""SMTP command lines into typed commands (RFC 5321 §4.1 and the extensions we speak).

`parse_command` takes one line as the connection layer read it and returns one of
the command dataclasses below, or raises SmtpError carrying the reply that says what
is wrong. It knows grammar only: whether a command is allowed now, or a parameter
welcome (SMTPUTF8 when not offered, AUTH= from an untrusted client), is the
session's to decide. Pure: no socket, no clock, no configuration.

Extensions parsed: SIZE (RFC 1870), 8BITMIME (RFC 6152), CHUNKING/BINARYMIME (RFC
3030), SMTPUTF8 (RFC 6531), DSN (RFC 3461), AUTH (RFC 4954), STARTTLS (RFC 3207),
and LMTP's LHLO (RFC 2033) when asked to.

Where RFC 5321 leaves room we do as Postfix's smtpd: verbs in any case, a line
ended by a bare LF accepted (and reported, `bare_lf`), trailing spaces ignored,
several spaces between words, a space after `FROM:`/`TO:`, paths without angle
brackets, a HELO argument of several words.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TypeVar

from mailroom.smtp.paths import Path, parse_forward_path, parse_reverse_path, split_path
from mailroom.smtp.replies import (
    AUTH_BAD_BASE64,
    BAD_UTF8,
    CONTROL_IN_COMMAND,
    LINE_TOO_LONG,
    NUL_IN_COMMAND,
    UNKNOWN_COMMAND,
    UNTERMINATED_COMMAND,
    SmtpError,
    bad_parameter,
    shown,
    unsupported_option,
    usage,
)
from mailroom.smtp.xtext import decode_xtext

# RFC 1870 SIZE and RFC 3030 BDAT sizes: bounded so that no arithmetic on them
# surprises anyone (and an int() of a 5000-digit string never runs).
MAX_SIZE_VALUE = 2**53
_MAX_SIZE_DIGITS = len(str(MAX_SIZE_VALUE))
# RFC 3461 §4.4: ENVID at most 100 characters; §4.2: ORCPT at most 500.
MAX_ENVID = 100
MAX_ORCPT = 500
# RFC 4422 §3.1: a SASL mechanism name is 1-20 of A-Z 0-9 - _.
_MECHANISM_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_MAX_MECHANISM = 20
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_DIGITS = frozenset("0123456789")
_KEYWORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")

# --- Commands ---------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """What every command carries: whether its line ended in a bare LF rather than
    CRLF (accepted, as Postfix does, for the session to log or refuse)."""

    bare_lf: bool = field(default=False, kw_only=True, compare=False)


@dataclass(frozen=True)
class Helo(Command):
    """HELO (extended=False), EHLO, or in LMTP LHLO (extended=True)."""

    domain: str
    extended: bool


class Body(enum.Enum):
    """RFC 6152 / RFC 3030 BODY= values."""

    SEVEN_BIT = "7BIT"
    EIGHT_BIT_MIME = "8BITMIME"
    BINARY_MIME = "BINARYMIME"


class Ret(enum.Enum):
    """RFC 3461 §4.3 RET=: return the full message or its headers in a failure DSN."""

    FULL = "FULL"
    HDRS = "HDRS"


class Notify(enum.Enum):
    """RFC 3461 §4.1 NOTIFY= conditions; NEVER comes alone."""

    NEVER = "NEVER"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    DELAY = "DELAY"


@dataclass(frozen=True)
class MailParams:
    """The parameters of MAIL FROM; None where the client gave none."""

    size: int | None = None
    """RFC 1870: the client's estimate of the message size, in octets."""
    body: Body | None = None
    smtputf8: bool = False
    """RFC 6531: the transaction may carry UTF-8 addresses and headers."""
    ret: Ret | None = None
    envid: str | None = None
    """RFC 3461 §4.4: the client's envelope id, decoded from xtext."""
    auth: str | None = None
    """RFC 4954 §5: who submitted the message, decoded; "" for AUTH=<>."""


@dataclass(frozen=True)
class OriginalRecipient:
    """RFC 3461 §4.2 ORCPT=addr-type;xtext, decoded."""

    addr_type: str
    """As given (compare case-insensitively), usually "rfc822"."""
    address: str


@dataclass(frozen=True)
class RcptParams:
    """The parameters of RCPT TO; None where the client gave none."""

    notify: frozenset[Notify] | None = None
    orcpt: OriginalRecipient | None = None


@dataclass(frozen=True)
class Mail(Command):
    path: Path
    """The reverse-path; `path.is_null` for `<>`."""
    params: MailParams = MailParams()


@dataclass(frozen=True)
class Rcpt(Command):
    path: Path
    params: RcptParams = RcptParams()


@dataclass(frozen=True)
class Data(Command):
    pass


@dataclass(frozen=True)
class Bdat(Command):
    """RFC 3030 §2: a chunk of `size` octets follows the line, raw."""

    size: int
    last: bool


@dataclass(frozen=True)
class Rset(Command):
    pass


@dataclass(frozen=True)
class Noop(Command):
    pass


@dataclass(frozen=True)
class Quit(Command):
    pass


@dataclass(frozen=True)
class Vrfy(Command):
    argument: str


@dataclass(frozen=True)
class Expn(Command):
    argument: str


@dataclass(frozen=True)
class Help(Command):
    topic: str | None = None


@dataclass(frozen=True)
class StartTls(Command):
    pass


@dataclass(frozen=True)
class Auth(Command):
    """RFC 4954 §4: AUTH mechanism [initial-response]."""

    mechanism: str
    """Upper-cased."""
    initial_response: str | None = field(default=None, repr=False)
    """Base64 as sent ("=" for an empty one); kept out of repr, it may hold a password."""


AnyCommand = (
    Helo | Mail | Rcpt | Data | Bdat | Rset | Noop | Quit | Vrfy | Expn | Help | StartTls | Auth
)
"""Every command parse_command returns, for an exhaustive `match`."""

# --- Parsing ----------------------------------------------------------------------

_MAIL_SYNTAX = "MAIL FROM:<address>"
_RCPT_SYNTAX = "RCPT TO:<address>"


def parse_command(
    line: bytes, *, max_length: int, smtputf8: bool = False, lmtp: bool = False
) -> AnyCommand:
    """One command line, with its ending, into a command.

    `max_length` counts the whole line with its ending. `smtputf8` says whether the
    current transaction's MAIL had SMTPUTF8 (it governs RCPT TO addresses); `lmtp`
    selects RFC 2033's dialect: LHLO instead of HELO and EHLO.
    """
    if len(line) > max_length:
        raise SmtpError(LINE_TOO_LONG)
    if b"\x00" in line:
        raise SmtpError(NUL_IN_COMMAND)
    # RFC 5321 §2.3.8: lines end in CRLF. A bare LF is taken as Postfix takes it.
    if line.endswith(b"\r\n"):
        body, bare_lf = line[:-2], False
    elif line.endswith(b"\n"):
        body, bare_lf = line[:-1], True
    else:
        raise SmtpError(UNTERMINATED_COMMAND)
    if any(byte < 32 or byte == 127 for byte in body):
        raise SmtpError(CONTROL_IN_COMMAND)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SmtpError(BAD_UTF8) from None
    # C1 controls and the Unicode line and paragraph separators: line breaks to some
    # readers of our logs and headers.
    if not text.isascii() and any(
        0x80 <= ord(char) <= 0x9F or char in "\u2028\u2029" for char in text
    ):
        raise SmtpError(CONTROL_IN_COMMAND)

    text = text.rstrip(" ")
    verb_text, _, argument = text.partition(" ")
    argument = argument.lstrip(" ")
    verb = verb_text.upper() if verb_text.isascii() else ""

    if verb in ("HELO", "EHLO") and not lmtp:
        return _parse_helo(verb, argument, extended=verb == "EHLO", bare_lf=bare_lf)
    if verb == "LHLO" and lmtp:
        return _parse_helo(verb, argument, extended=True, bare_lf=bare_lf)
    if verb == "MAIL":
        return _parse_mail(argument, bare_lf)
    if verb == "RCPT":
        return _parse_rcpt(argument, smtputf8, bare_lf)
    if verb == "BDAT":
        return _parse_bdat(argument, bare_lf)
    if verb == "AUTH":
        return _parse_auth(argument, bare_lf)
    if verb in ("VRFY", "EXPN"):
        if not argument:
            raise SmtpError(usage(f"{verb} address"))
        return (
            Vrfy(argument, bare_lf=bare_lf) if verb == "VRFY" else Expn(argument, bare_lf=bare_lf)
        )
    if verb == "HELP":
        return Help(argument or None, bare_lf=bare_lf)
    if verb == "NOOP":
        # RFC 5321 §4.1.1.9: a parameter string SHOULD be ignored.
        return Noop(bare_lf=bare_lf)
    if verb == "QUIT":
        # RFC 5321 §4.1.1.10 has no parameters; a client that wants to leave may.
        return Quit(bare_lf=bare_lf)
    if verb in ("DATA", "RSET", "STARTTLS"):
        # RFC 5321 §4.1.1.4, §4.1.1.5; RFC 3207 §4: no parameters.
        if argument:
            raise SmtpError(usage(verb))
        if verb == "DATA":
            return Data(bare_lf=bare_lf)
        return Rset(bare_lf=bare_lf) if verb == "RSET" else StartTls(bare_lf=bare_lf)
    raise SmtpError(UNKNOWN_COMMAND)


def _parse_helo(verb: str, argument: str, *, extended: bool, bare_lf: bool) -> Helo:
    # RFC 5321 §4.1.1.1. Postfix joins several words (collapse_args); so do we, and
    # leave judging the name to the session.
    if not argument:
        raise SmtpError(usage(f"{verb} hostname"))
    return Helo(" ".join(_words(argument)), extended, bare_lf=bare_lf)


def _words(text: str) -> list[str]:
    """Split at SP only: str.split() would also split at NBSP and other Unicode spaces."""
    return [word for word in text.split(" ") if word]


def _after_keyword(argument: str, keyword: str, syntax: str) -> str:
    """What follows `FROM:` / `TO:` (any case, spaces after the colon allowed)."""
    if not argument[: len(keyword)].isascii() or argument[: len(keyword)].upper() != keyword:
        raise SmtpError(usage(syntax))
    rest = argument[len(keyword) :].lstrip(" ")
    if not rest:
        raise SmtpError(usage(syntax))
    return rest


def _split_parameters(argument: str, syntax: str) -> tuple[str, list[str]]:
    path_text, rest = split_path(argument)
    if rest and not rest.startswith(" "):
        raise SmtpError(usage(syntax))
    return path_text, _words(rest)


def _parse_mail(argument: str, bare_lf: bool) -> Mail:
    rest = _after_keyword(argument, "FROM:", _MAIL_SYNTAX)
    path_text, tokens = _split_parameters(rest, _MAIL_SYNTAX)
    # The address is judged first, as Postfix does; whether it may be UTF-8 depends
    # on a parameter after it (RFC 6531 §3.4).
    smtputf8 = any(token.upper() == "SMTPUTF8" for token in tokens if token.isascii())
    path = parse_reverse_path(path_text, smtputf8=smtputf8)
    return Mail(path, _parse_mail_params(tokens), bare_lf=bare_lf)


def _parse_rcpt(argument: str, smtputf8: bool, bare_lf: bool) -> Rcpt:
    rest = _after_keyword(argument, "TO:", _RCPT_SYNTAX)
    path_text, tokens = _split_parameters(rest, _RCPT_SYNTAX)
    path = parse_forward_path(path_text, smtputf8=smtputf8)
    return Rcpt(path, _parse_rcpt_params(tokens), bare_lf=bare_lf)


def _parse_bdat(argument: str, bare_lf: bool) -> Bdat:
    # RFC 3030 §2: "BDAT" SP chunk-size [ SP end-marker ]; end-marker = "LAST".
    words = argument.split(" ")
    if not 1 <= len(words) <= 2 or (
        len(words) == 2 and not (words[1].isascii() and words[1].upper() == "LAST")
    ):
        raise SmtpError(usage("BDAT count [LAST]"))
    size = _size_value(words[0])
    if size is None:
        raise SmtpError(usage("BDAT count [LAST]"))
    return Bdat(size, len(words) == 2, bare_lf=bare_lf)


def _parse_auth(argument: str, bare_lf: bool) -> Auth:
    # RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]; "=" is an empty one.
    words = argument.split(" ")
    mechanism = words[0].upper() if words[0].isascii() else ""
    if (
        len(words) > 2
        or not mechanism
        or len(mechanism) > _MAX_MECHANISM
        or not set(mechanism) <= _MECHANISM_CHARS
    ):
        raise SmtpError(usage("AUTH mechanism"))
    response = words[1] if len(words) == 2 else None
    if response is not None and not set(response) <= _BASE64_CHARS:
        raise SmtpError(AUTH_BAD_BASE64)
    return Auth(mechanism, response, bare_lf=bare_lf)


def _size_value(text: str) -> int | None:
    """Digits only, at most 2**53; None otherwise."""
    if not text or len(text) > _MAX_SIZE_DIGITS or not set(text) <= _DIGITS:
        return None
    value = int(text)
    return value if value <= MAX_SIZE_VALUE else None


def _split_parameter(token: str) -> tuple[str, str | None]:
    """RFC 5321 §4.1.2 esmtp-param = esmtp-keyword ["=" esmtp-value]."""
    keyword, equals, value = token.partition("=")
    if not keyword or not set(keyword) <= _KEYWORD_CHARS or keyword.startswith("-"):
        raise SmtpError(bad_parameter(f"Bad parameter syntax: {shown(token)}"))
    if not equals:
        return keyword.upper(), None
    # esmtp-value = 1*(%d33-60 / %d62-126), and UTF-8 with SMTPUTF8 (RFC 6531 §3.3).
    if not value or any(
        char == "="
        or (char.isascii() and not 33 <= ord(char) <= 126)
        or (not char.isascii() and not char.isprintable())
        for char in value
    ):
        raise SmtpError(bad_parameter(f"Bad {keyword.upper()} parameter syntax"))
    return keyword.upper(), value


def _no_duplicates(keyword: str, seen: set[str]) -> None:
    if keyword in seen:
        raise SmtpError(bad_parameter(f"Error: duplicate {keyword} parameter"))
    seen.add(keyword)


def _parse_mail_params(tokens: list[str]) -> MailParams:
    size: int | None = None
    body: Body | None = None
    smtputf8 = False
    ret: Ret | None = None
    envid: str | None = None
    auth: str | None = None
    seen: set[str] = set()
    for token in tokens:
        keyword, value = _split_parameter(token)
        if keyword not in ("SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"):
            raise SmtpError(unsupported_option(keyword))
        _no_duplicates(keyword, seen)
        if keyword == "SIZE":  # RFC 1870: SIZE=1*20DIGIT
            size = _size_value(value or "")
            if size is None:
                raise SmtpError(bad_parameter("Bad message size syntax"))
        elif keyword == "BODY":  # RFC 6152 §2, RFC 3030 §3
            body = _enum_value(Body, value, "Bad BODY parameter syntax")
        elif keyword == "SMTPUTF8":  # RFC 6531 §3.4: no value
            if value is not None:
                raise SmtpError(bad_parameter("Bad SMTPUTF8 parameter syntax"))
            smtputf8 = True
        elif keyword == "RET":  # RFC 3461 §4.3
            ret = _enum_value(Ret, value, "Bad RET parameter syntax")
        elif keyword == "ENVID":  # RFC 3461 §4.4
            if value is None or len(value) > MAX_ENVID:
                raise SmtpError(bad_parameter("Bad ENVID parameter syntax"))
            envid = _printable_xtext(value, "Bad ENVID parameter syntax")
        else:  # AUTH, RFC 4954 §5: AUTH=xtext or AUTH=<>
            if value == "<>":
                auth = ""
            elif value is None:
                raise SmtpError(bad_parameter("Bad AUTH parameter syntax"))
            else:
                auth = _printable_xtext(value, "Bad AUTH parameter syntax")
    return MailParams(size, body, smtputf8, ret, envid, auth)


def _parse_rcpt_params(tokens: list[str]) -> RcptParams:
    notify: frozenset[Notify] | None = None
    orcpt: OriginalRecipient | None = None
    seen: set[str] = set()
    for token in tokens:
        keyword, value = _split_parameter(token)
        if keyword not in ("NOTIFY", "ORCPT"):
            raise SmtpError(unsupported_option(keyword))
        _no_duplicates(keyword, seen)
        if keyword == "NOTIFY":
            notify = _notify_value(value)
        else:
            orcpt = _orcpt_value(value)
    return RcptParams(notify, orcpt)


def _notify_value(value: str | None) -> frozenset[Notify]:
    # RFC 3461 §4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ).
    refusal = SmtpError(bad_parameter("Error: Bad NOTIFY parameter syntax"))
    if value is None or not value.isascii():
        raise refusal
    conditions = set()
    for word in value.upper().split(","):
        try:
            conditions.add(Notify(word))
        except ValueError:
            raise refusal from None
    if Notify.NEVER in conditions and len(value.split(",")) > 1:
        raise refusal
    return frozenset(conditions)


def _orcpt_value(value: str | None) -> OriginalRecipient:
    # RFC 3461 §4.2: ORCPT=addr-type ";" xtext; addr-type is an atom.
    refusal = SmtpError(bad_parameter("Error: Bad ORCPT parameter syntax"))
    if value is None or len(value) > MAX_ORCPT:
        raise refusal
    addr_type, semicolon, encoded = value.partition(";")
    if not semicolon or not addr_type or not encoded or not addr_type.isascii():
        raise refusal
    if not all(char.isalnum() or char in "!#$%&'*+-/=?^_`{|}~" for char in addr_type):
        raise refusal
    return OriginalRecipient(addr_type, _printable_xtext(encoded, refusal.reply.text))


def _printable_xtext(value: str, complaint: str) -> str:
    """xtext decoded; RFC 3461 §4.2, §4.4: the decoded value is printable US-ASCII."""
    try:
        decoded = decode_xtext(value)
    except ValueError:
        raise SmtpError(bad_parameter(complaint)) from None
    if not all(32 <= ord(char) <= 126 for char in decoded):
        raise SmtpError(bad_parameter(complaint))
    return decoded


_Enum = TypeVar("_Enum", bound=enum.Enum)


def _enum_value(kind: type[_Enum], value: str | None, complaint: str) -> _Enum:
    # isascii first: "8bıtmıme".upper() is "8BITMIME".
    if value is None or not value.isascii():
        raise SmtpError(bad_parameter(complaint))
    try:
        return kind(value.upper())
    except ValueError:
        raise SmtpError(bad_parameter(complaint)) from None
