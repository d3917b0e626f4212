"""The `-ERR` answers of POP3 sessions, and how a command handler refuses.

A handler that cannot do what the client asked raises `Pop3Error` with one of the
answers below (or the grammar's `CommandError`, a `Pop3Error` too); the session answers
it in one place (`Pop3Session._refuse`), and counts it towards the listener's
`max_bad_commands` when the answer says it is a bad command or a failed login.

Texts follow Dovecot's where clients might look at them; response codes are RFC 2449's
and RFC 3206's (`wire.AUTH`, `wire.IN_USE`, `wire.SYS_TEMP`). Pure: nothing here sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailroom.pop3.wire import AUTH, IN_USE, SYS_TEMP, err


@dataclass(frozen=True)
class ErrReply:
    """One `-ERR [code] text` answer."""

    text: str
    """ASCII, never echoing what the client sent (it may be a password)."""
    code: str | None = None
    """An RFC 2449 §8 response code without brackets, e.g. "AUTH" or "IN-USE"."""
    bad_command: bool = True
    """Counts towards the listener's `max_bad_commands` (a bad command or a failed
    login); an answer that does not count starts the count again, as any command that
    works does (Dovecot's rule)."""
    line: bytes = field(init=False, repr=False, compare=False)
    """The answer as it goes on the wire, CRLF included."""

    def __post_init__(self) -> None:
        # Written once: a text that would break the line fails at import, not in a session.
        object.__setattr__(self, "line", err(self.text, self.code))


class Pop3Error(Exception):
    """A refused command: the client gets `reply`, and the session goes on (unless this
    was one bad command too many).

    Raise a new one each time (`raise Pop3Error(AUTH_FAILED)`), never a shared
    instance: an exception raised again keeps growing its traceback."""

    def __init__(self, reply: ErrReply) -> None:
        super().__init__(reply)
        self.reply = reply

    def __str__(self) -> str:
        return self.reply.text


# -- any state -------------------------------------------------------------------------

COMMAND_LINE_TOO_LONG = ErrReply("Command line too long.")
"""A line longer than the session reads as a command (it was skipped unread)."""
UNKNOWN_COMMAND_IN_STATE = ErrReply("Unknown command in this state.")
TOO_MANY_BAD_COMMANDS = ErrReply("Too many bad commands.")
"""Instead of the answer that reached the listener's `max_bad_commands`; the session ends."""
INTERNAL_ERROR = ErrReply(
    "Internal error occurred. Refer to server log for more information.",
    SYS_TEMP,
    bad_command=False,
)
SHUTTING_DOWN = ErrReply("Server shutting down.", SYS_TEMP, bad_command=False)
DISCONNECTED_FOR_INACTIVITY = ErrReply("Disconnected for inactivity.", bad_command=False)

# -- AUTHORIZATION ---------------------------------------------------------------------

PLAINTEXT_DISALLOWED = ErrReply(
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", AUTH
)
"""RFC 2595 §4: USER, PASS and AUTH where `net.may_send_password` says no."""
NO_USERNAME = ErrReply("No username given.")
APOP_NOT_SUPPORTED = ErrReply("APOP is not supported.")
TLS_NOT_AVAILABLE = ErrReply("TLS is not available.")
TLS_ALREADY_ACTIVE = ErrReply("TLS is already active.")
UNSUPPORTED_MECHANISM = ErrReply("Unsupported authentication mechanism.")
AUTH_RESPONSE_TOO_LONG = ErrReply("Authentication response too long.", AUTH)
AUTH_ABORTED = ErrReply("Authentication aborted by client.", AUTH)
"""RFC 5034 §4: the client answered a challenge with `*`."""
AUTH_FAILED = ErrReply("Authentication failed.", AUTH)
"""RFC 3206 §5: the credentials were refused; the same words whatever was wrong."""
AUTH_TEMPORARY = ErrReply("Temporary authentication failure, try again later.", SYS_TEMP)
"""RFC 3206 §4 SYS/TEMP: refused for now (a ban after failed logins), not for the password."""
MAILBOX_IN_USE = ErrReply("Mailbox is locked by another POP3 session.", IN_USE, bad_command=False)
"""RFC 2449 §8.1.1: the login was right, the maildrop is another session's."""

# -- TRANSACTION and UPDATE ------------------------------------------------------------

MESSAGE_DELETED = ErrReply("Message is deleted.", bad_command=False)
"""RFC 1939 §5: a message marked as deleted may not be referred to."""
MESSAGE_REMOVED = ErrReply("Message was removed by another session.", bad_command=False)
DELETIONS_FAILED = ErrReply("Some deleted messages were not removed.", SYS_TEMP, bad_command=False)
"""RFC 1939 §6: QUIT could not apply the session's changes."""


def no_such_message(number: int) -> ErrReply:
    """Clients ask for messages that are gone all the time: not a bad command."""
    return ErrReply(f"There's no message {number}.", bad_command=False)
