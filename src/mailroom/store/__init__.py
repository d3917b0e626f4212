"""Mailboxes on disk: Maildir++ compatible with Dovecot.

The delivery side: where an account's Maildir is (paths.py), writing
messages and folders into it (maildir.py) and the Maildir++ quota
(quota.py). The reading side, for IMAP and POP3: a folder's messages with
their UIDs and flags (folder.py), kept in Dovecot's own `dovecot-uidlist`
(uidlist.py) and `dovecot-keywords` (keywords.py) so Dovecot and Mailroom
can take turns on one Maildir. Imports no protocol.
"""

from mailroom.store.folder import FolderError, MaildirFolder, MaildirMessage, MessageGone
from mailroom.store.keywords import Keywords, KeywordsError, TooManyKeywords
from mailroom.store.maildir import (
    INBOX,
    FolderNameError,
    Maildir,
    TmpMessage,
    folder_directory,
    folder_name,
    unique_name,
)
from mailroom.store.paths import MailboxPathError, mailbox_path
from mailroom.store.quota import (
    MaildirSize,
    check_quota,
    current_usage,
    parse_maildirsize,
    recalculate,
    record_delivery,
)
from mailroom.store.uidlist import LockTimeout, UidList, UidListError, UidRecord

__all__ = [
    "INBOX",
    "FolderError",
    "FolderNameError",
    "Keywords",
    "KeywordsError",
    "LockTimeout",
    "MailboxPathError",
    "Maildir",
    "MaildirFolder",
    "MaildirMessage",
    "MaildirSize",
    "MessageGone",
    "TmpMessage",
    "TooManyKeywords",
    "UidList",
    "UidListError",
    "UidRecord",
    "check_quota",
    "current_usage",
    "folder_directory",
    "folder_name",
    "mailbox_path",
    "parse_maildirsize",
    "recalculate",
    "record_delivery",
    "unique_name",
]
