"""What a command answers when it fails, and the texts IMAP sessions send.

A handler raises `ImapError`; the session writes it as the command's tagged reply
(`a1 NO [TRYCREATE] Mailbox doesn't exist: Foo`). Texts follow Dovecot's, which
clients and their users have seen for years.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.store import (
    FlagError,
    FolderError,
    FolderExists,
    FolderNameError,
    FolderNotFound,
    LockTimeout,
    QuotaExceeded,
    SpecialUseError,
    TooManyKeywords,
)


@dataclass
class ImapError(Exception):
    """The tagged NO or BAD that ends a command. `code` is a response code (RFC 9051 §7.1)
    without brackets, e.g. "TRYCREATE", "OVERQUOTA", "NONEXISTENT"."""

    status: str
    text: str
    code: str | None = None

    def __str__(self) -> str:
        return self.text

    def line(self, tag: str) -> bytes:
        code = f"[{self.code}] " if self.code else ""
        return f"{tag} {self.status} {code}{self.text}\r\n".encode()


def no(text: str, code: str | None = None) -> ImapError:
    return ImapError("NO", text, code)


def bad(text: str, code: str | None = None) -> ImapError:
    return ImapError("BAD", text, code)


NO_MAILBOX_SELECTED = bad("No mailbox selected.")
READ_ONLY = no("Mailbox is read-only.", "READ-ONLY")
AUTHENTICATION_FAILED = no("Authentication failed.", "AUTHENTICATIONFAILED")
AUTHENTICATION_UNAVAILABLE = no("Temporary authentication failure, try again later.", "UNAVAILABLE")
"""RFC 5530 §3 UNAVAILABLE: refused for now (a ban after failed logins), not for the password."""
PLAINTEXT_DISALLOWED = no(
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", "PRIVACYREQUIRED"
)
SERVER_BUG = no("Internal error occurred. Refer to server log for more information.", "SERVERBUG")


def nonexistent(name: str) -> ImapError:
    return no(f"Mailbox doesn't exist: {name}", "NONEXISTENT")


def trycreate(name: str) -> ImapError:
    return no(f"Mailbox doesn't exist: {name}", "TRYCREATE")


def store_error(error: Exception, name: str = "") -> ImapError:
    """The reply for a store error (RFC 5530 response codes), as Dovecot words them."""
    if isinstance(error, FolderNotFound):
        return nonexistent(name or error.name)
    if isinstance(error, FolderExists):
        return no("Mailbox already exists", "ALREADYEXISTS")
    if isinstance(error, FolderNameError):
        return no(f"Invalid mailbox name: {error}", "CANNOT")
    if isinstance(error, QuotaExceeded):
        return no("Quota exceeded (mailbox for user is full)", "OVERQUOTA")
    if isinstance(error, TooManyKeywords):
        return no("Too many keywords in this mailbox (26 at most)", "LIMIT")
    if isinstance(error, SpecialUseError):
        return no(str(error), "USEATTR")
    if isinstance(error, FlagError):
        return bad(f"Invalid flag: {error}")
    if isinstance(error, LockTimeout):
        return no("Mailbox is locked by another process; try again", "INUSE")
    if isinstance(error, FolderError):
        return no(str(error))
    raise error


STORE_ERRORS = (FolderError, FolderNameError, FlagError, LockTimeout)
"""What `store_error` turns into a reply."""
