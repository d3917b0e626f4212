"""SMTP replies: what the server says, and how it is put on the wire.

The replies the session sends are written once, here, in Postfix's words where
Postfix has words for them (a client or a log reader who knows Postfix recognises
them). The grammar's refusals start from these (`usage`, `bad_parameter`,
`with_detail`) and add what was wrong beside the check that found it. A reply is
data (`SmtpReply`); refusing something is raising `SmtpError` with the reply that
says why. This module does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the CRLF.
MAX_REPLY_LINE = 512

# RFC 3463 §2: class.subject.detail; subject and detail are 1-3 digits.
_ENHANCED = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")

# Client-supplied text echoed in a reply is cut to this many characters.
_ECHO_LIMIT = 100


@dataclass(frozen=True)
class SmtpReply:
    """One reply: a code, an optional RFC 3463 enhanced status code, and text.

    `text` may hold several lines separated by "\\n"; each becomes one reply line.
    """

    code: int
    enhanced: str | None
    text: str

    def __post_init__(self) -> None:
        # RFC 5321 §4.2: the first digit is 2-5, the second 0-5.
        if not 200 <= self.code <= 559 or (self.code // 10) % 10 > 5:
            raise ValueError(f"{self.code} is not an SMTP reply code")
        if self.enhanced is not None:
            if not _ENHANCED.fullmatch(self.enhanced):
                raise ValueError(f"{self.enhanced!r} is not an enhanced status code")
            # RFC 3463 §2: the class matches the reply's first digit. 3xx
            # intermediate replies carry no enhanced code (RFC 2034).
            if self.enhanced[0] != str(self.code)[0]:
                raise ValueError(f"enhanced code {self.enhanced} does not match {self.code}")

    def with_detail(self, detail: str) -> SmtpReply:
        """The same reply with `: detail` after its text."""
        return SmtpReply(self.code, self.enhanced, f"{self.text}: {detail}")

    def encode(self, enhanced_codes: bool = True, *, utf8: bool = False) -> bytes:
        """The reply as it goes on the wire (RFC 5321 §4.2.1).

        Multi-line replies are `250-first\\r\\n250 last\\r\\n`; the enhanced code, when
        given and `enhanced_codes` is on (the client was offered ENHANCEDSTATUSCODES),
        starts every line (RFC 2034). Lines longer than 512 octets are wrapped.
        Control characters become "?"; so does non-ASCII unless `utf8` (for a reply
        naming a UTF-8 mailbox to a client that sent SMTPUTF8, RFC 6531).
        """
        prefix_code = str(self.code)
        status = f"{self.enhanced} " if self.enhanced and enhanced_codes else ""
        budget = MAX_REPLY_LINE - len(prefix_code) - 1 - len(status.encode()) - 2
        pieces: list[str] = []
        for line in self.text.split("\n"):
            pieces.extend(_wrap(_printable(line, utf8), budget))
        out = bytearray()
        for index, piece in enumerate(pieces):
            separator = " " if index == len(pieces) - 1 else "-"
            body = f"{status}{piece}".rstrip(" ")
            out += f"{prefix_code}{separator}{body}".rstrip(" ").encode("utf-8") + b"\r\n"
        return bytes(out)


def _printable(line: str, utf8: bool) -> str:
    # RFC 5321 §4.2: textstring = 1*(%d09 / %d32-126); RFC 6531 adds UTF-8.
    out = []
    for char in line:
        point = ord(char)
        if point == 9 or 32 <= point <= 126 or (utf8 and point > 159 and char.isprintable()):
            out.append(char)
        else:
            out.append("?")
    return "".join(out)


def _wrap(line: str, budget: int) -> list[str]:
    """Cut `line` into pieces of at most `budget` UTF-8 octets, at spaces if possible."""
    pieces: list[str] = []
    while len(line.encode("utf-8")) > budget:
        cut = budget
        while len(line[:cut].encode("utf-8")) > budget:
            cut -= 1
        space = line.rfind(" ", 1, cut + 1)
        if space > budget // 2:
            cut = space
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


class SmtpError(Exception):
    """A refusal: the client gets `reply`, and the session goes on (unless it is a 421)."""

    def __init__(self, reply: SmtpReply) -> None:
        super().__init__(f"{reply.code} {reply.enhanced or ''} {reply.text}".replace("  ", " "))
        self.reply = reply


def shown(text: str) -> str:
    """Client-supplied text, cut short for echoing in a reply."""
    if len(text) > _ECHO_LIMIT:
        return text[: _ECHO_LIMIT - 3] + "..."
    return text


# --- Greeting, EHLO, closing (RFC 2034: no enhanced code on the greeting or EHLO).


def greeting(hostname: str, banner: str = "ESMTP Mailroom") -> SmtpReply:
    """`220 mail.example.org ESMTP Mailroom` (RFC 5321 §4.2, §3.1)."""
    return SmtpReply(220, None, f"{hostname} {banner}".rstrip())


def helo_reply(hostname: str) -> SmtpReply:
    """The answer to HELO: `250 mail.example.org`."""
    return SmtpReply(250, None, hostname)


def ehlo_reply(hostname: str, extensions: Sequence[str]) -> SmtpReply:
    """The answer to EHLO/LHLO: the hostname, then one extension keyword per line
    (RFC 5321 §4.1.1.1)."""
    return SmtpReply(250, None, "\n".join([hostname, *extensions]))


def shutting_down(hostname: str) -> SmtpReply:
    """421 before closing because the server stops (RFC 5321 §3.8)."""
    return SmtpReply(
        421, "4.3.2", f"{hostname} Service shutting down, closing transmission channel"
    )


def timed_out(hostname: str) -> SmtpReply:
    return SmtpReply(421, "4.4.2", f"{hostname} Error: timeout exceeded")


def too_many_errors(hostname: str) -> SmtpReply:
    return SmtpReply(421, "4.7.0", f"{hostname} Error: too many errors")


# --- Positive replies.

OK = SmtpReply(250, "2.0.0", "Ok")
CLOSING = SmtpReply(221, "2.0.0", "Bye")  # RFC 5321 §4.1.1.10, the answer to QUIT
SENDER_OK = SmtpReply(250, "2.1.0", "Ok")
RECIPIENT_OK = SmtpReply(250, "2.1.5", "Ok")
# RFC 2034: 354 is intermediate, no enhanced code.
START_DATA = SmtpReply(354, None, "End data with <CR><LF>.<CR><LF>")
READY_FOR_TLS = SmtpReply(220, "2.0.0", "Ready to start TLS")
AUTH_SUCCEEDED = SmtpReply(235, "2.7.0", "Authentication successful")
# RFC 5321 §3.5.3: 252 when a server will not verify but will try delivery.
CANNOT_VRFY = SmtpReply(
    252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery"
)
HELP = SmtpReply(214, "2.0.0", "See https://www.rfc-editor.org/rfc/rfc5321")


def queued(queue_id: str) -> SmtpReply:
    """After the final dot (or BDAT LAST): the message is on stable storage."""
    return SmtpReply(250, "2.0.0", f"Ok: queued as {queue_id}")


def chunk_received(size: int) -> SmtpReply:
    """After a BDAT chunk that is not the last (RFC 3030 §2)."""
    return SmtpReply(250, "2.0.0", f"Ok: {size} bytes")


def auth_challenge(challenge: str) -> SmtpReply:
    """RFC 4954 §4: `334 <base64>`; no enhanced code on an intermediate reply."""
    return SmtpReply(334, None, challenge)


# --- Syntax (RFC 5321 §4.2.4, RFC 3463 §3.6).

UNKNOWN_COMMAND = SmtpReply(500, "5.5.2", "Error: command not recognized")
SYNTAX_ERROR = SmtpReply(500, "5.5.2", "Error: bad syntax")
BAD_UTF8 = SmtpReply(500, "5.5.2", "Error: bad UTF-8 syntax")
NUL_IN_COMMAND = SmtpReply(500, "5.5.2", "Error: NUL character in command")
CONTROL_IN_COMMAND = SmtpReply(500, "5.5.2", "Error: control character in command")
UNTERMINATED_COMMAND = SmtpReply(500, "5.5.2", "Error: command not terminated by <CR><LF>")
# RFC 5321 §4.5.3.1: "500 Line too long."
LINE_TOO_LONG = SmtpReply(500, "5.5.6", "Error: line too long")
PARAMETER_ERROR = SmtpReply(501, "5.5.4", "Error: bad parameter syntax")
NOT_IMPLEMENTED = SmtpReply(502, "5.5.1", "Error: command not implemented")
EXPN_DISABLED = SmtpReply(502, "5.5.1", "EXPN command is disabled")
# RFC 5321 §4.1.1.11, §4.2.3: 555 for a MAIL/RCPT parameter not recognised.
UNKNOWN_PARAMETER = SmtpReply(555, "5.5.4", "Unsupported option")


def usage(syntax: str) -> SmtpReply:
    """501 with the command's syntax, Postfix style: `Syntax: MAIL FROM:<address>`."""
    return SmtpReply(501, "5.5.4", f"Syntax: {syntax}")


def bad_parameter(detail: str) -> SmtpReply:
    """501 5.5.4 for a malformed MAIL/RCPT parameter, saying which and why."""
    return SmtpReply(501, "5.5.4", detail)


def unsupported_option(keyword: str) -> SmtpReply:
    """555 5.5.4 `Unsupported option: XFOO` (Postfix's words)."""
    return UNKNOWN_PARAMETER.with_detail(shown(keyword))


# --- Sequence (RFC 5321 §4.3.2, 503).

BAD_SEQUENCE = SmtpReply(503, "5.5.1", "Error: bad sequence of commands")
NEED_HELO = SmtpReply(503, "5.5.1", "Error: send HELO/EHLO first")
NEED_MAIL = SmtpReply(503, "5.5.1", "Error: need MAIL command")
NESTED_MAIL = SmtpReply(503, "5.5.1", "Error: nested MAIL command")
DATA_AFTER_BDAT = SmtpReply(503, "5.5.1", "Error: DATA after BDAT")
RCPT_AFTER_BDAT = SmtpReply(503, "5.5.1", "Error: RCPT after BDAT")
NO_VALID_RECIPIENTS = SmtpReply(554, "5.5.1", "Error: no valid recipients")
TLS_ALREADY_ACTIVE = SmtpReply(554, "5.5.1", "Error: TLS already active")

# --- Addresses (RFC 3463 §3.2: X.1.3 bad destination syntax, X.1.7 bad sender syntax).
# Postfix answers 501 for both; so do we, and the detail says what was wrong.

BAD_SENDER_SYNTAX = SmtpReply(501, "5.1.7", "Bad sender address syntax")
BAD_RECIPIENT_SYNTAX = SmtpReply(501, "5.1.3", "Bad recipient address syntax")
# RFC 6531 §3.5: non-ASCII address without the SMTPUTF8 parameter -> 553 5.6.7.
SMTPUTF8_REQUIRED = SmtpReply(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address")


def unknown_user(address: str) -> SmtpReply:
    return SmtpReply(550, "5.1.1", f"<{shown(address)}>: Recipient address rejected: User unknown")


def no_postmaster(address: str) -> SmtpReply:
    """RFC 5321 §4.5.1 requires a postmaster; when the host has none set up yet, the
    sender keeps the message and retries (RFC 3463 X.3.5: system incorrectly configured)."""
    return SmtpReply(
        451,
        "4.3.5",
        f"<{shown(address)}>: Recipient address rejected: no postmaster is set up yet, "
        "try again later",
    )


def relay_denied(address: str) -> SmtpReply:
    return SmtpReply(554, "5.7.1", f"<{shown(address)}>: Relay access denied")


def sender_not_owned(address: str, login: str) -> SmtpReply:
    """Submission: the authenticated user may not send as this address."""
    return SmtpReply(
        553,
        "5.7.1",
        f"<{shown(address)}>: Sender address rejected: not owned by user {shown(login)}",
    )


# --- Size and limits.

# RFC 1870: 552 at MAIL for a declared SIZE over the limit, or after the data.
SIZE_EXCEEDS_LIMIT = SmtpReply(552, "5.3.4", "Message size exceeds fixed limit")
MESSAGE_TOO_BIG = SmtpReply(552, "5.3.4", "Error: message file too big")
DATA_LINE_TOO_LONG = SmtpReply(552, "5.3.4", "Error: message line too long")
# RFC 5321 §4.5.3.1: 452 for too many recipients, so the client retries the rest.
TOO_MANY_RECIPIENTS = SmtpReply(452, "4.5.3", "Error: too many recipients")
# RFC 5321 §6.3 loop detection; RFC 3463 §3.5 X.4.6 routing loop detected.
TOO_MANY_HOPS = SmtpReply(554, "5.4.6", "Error: too many hops")
# Postfix's smtpd_forbid_bare_newline=reject answer, for a session that refuses them.

# --- Authentication and TLS (RFC 4954 §6, RFC 3207 §4).

AUTH_REQUIRED = SmtpReply(530, "5.7.0", "Authentication required")
ENCRYPTION_REQUIRED = SmtpReply(530, "5.7.0", "Must issue a STARTTLS command first")
MECHANISM_NEEDS_ENCRYPTION = SmtpReply(
    538, "5.7.11", "Encryption required for requested authentication mechanism"
)
AUTH_FAILED = SmtpReply(535, "5.7.8", "Error: authentication failed")
AUTH_TEMPORARY = SmtpReply(454, "4.7.0", "Temporary authentication failure, try again later")
"""RFC 4954 §6: refused for now (a ban after failed logins): the client keeps its password."""
AUTH_ABORTED = SmtpReply(501, "5.7.0", "Authentication aborted")
AUTH_BAD_BASE64 = SmtpReply(501, "5.5.2", "Cannot decode response")
AUTH_RESPONSE_TOO_LONG = SmtpReply(500, "5.5.6", "SASL response limit exceeded")
AUTH_UNKNOWN_MECHANISM = SmtpReply(504, "5.5.4", "Unsupported authentication mechanism")
ALREADY_AUTHENTICATED = SmtpReply(503, "5.5.1", "Error: already authenticated")
AUTH_NOT_ENABLED = SmtpReply(503, "5.5.1", "Error: authentication not enabled")
AUTH_IN_TRANSACTION = SmtpReply(503, "5.5.1", "Error: MAIL transaction in progress")

# --- Temporary trouble on our side.

TEMPORARY = SmtpReply(451, "4.3.0", "Error: temporary local problem, please try again later")
QUEUE_WRITE_ERROR = SmtpReply(451, "4.3.0", "Error: queue file write error")
