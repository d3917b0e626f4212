"""The store's errors for IMAP and POP3, each one a reply the protocol layer can give.

Some live beside the code that raises them and are re-exported by
`mailroom.store`: FolderNameError
(maildir.py), KeywordsError and TooManyKeywords (keywords.py), LockTimeout
(uidlist.py). The IMAP mapping the lead uses (RFC 5530 response codes):
    FolderNotFound      NO [NONEXISTENT]
    FolderExists        NO [ALREADYEXISTS]
    FolderNameError     NO [CANNOT]
    QuotaExceeded       NO [OVERQUOTA]
    TooManyKeywords     NO [LIMIT]
    SpecialUseError     NO [USEATTR] (RFC 6154 §3)
    FlagError           BAD (a flag the client may not set)
    MailboxDeleted      the session's folder went away: BYE or NO
    MessageGone         the message was expunged meanwhile: NO (or skip it in FETCH)
    LockTimeout         another process holds a dotlock too long: NO [INUSE]
"""

from __future__ import annotations


class FolderError(Exception):
    """Something went wrong with a folder's messages; the message says what."""


class MessageGone(FolderError):
    """The message was expunged (its file is gone), by us or by another process."""

    def __init__(self, uid: int) -> None:
        super().__init__(f"message UID {uid} has been expunged")
        self.uid = uid


class FolderNotFound(FolderError):
    """No folder of that name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"there is no folder {name!r}")
        self.name = name


class FolderExists(FolderError):
    """CREATE or RENAME onto a name that is taken."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the folder {name!r} exists already")
        self.name = name


class MailboxDeleted(FolderError):
    """The folder was deleted or renamed while a session had it open."""


class QuotaExceeded(FolderError):
    """The message does not fit under the account's quota; nothing was written."""


class SpecialUseError(FolderError):
    """A SPECIAL-USE attribute the store does not keep (RFC 6154: NO [USEATTR])."""


class FlagError(ValueError):
    """A flag that cannot be stored: an unknown system flag or an invalid keyword."""
