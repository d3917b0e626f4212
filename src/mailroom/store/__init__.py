"""Mailboxes on disk: Maildir++ compatible with Dovecot.

So far the delivery side: where an account's Maildir is (paths.py), writing
messages and folders into it (maildir.py) and the Maildir++ quota
(quota.py). Imports no protocol; reading, UIDs and the index come with IMAP.
"""

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

__all__ = [
    "INBOX",
    "FolderNameError",
    "MailboxPathError",
    "Maildir",
    "MaildirSize",
    "TmpMessage",
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
