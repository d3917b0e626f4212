"""Mailboxes on disk: Maildir++ compatible with Dovecot.

Where an account's Maildir is and its quota (paths.py: `locate_mailbox`), its
layout and folders (maildir.py), the names of its message files (filename.py)
and the Maildir++ quota (quota.py). Every message that enters a folder, from
local delivery or from IMAP APPEND, COPY and MOVE, goes through one write path
(writing.py: `FolderWriter`). The reading side, for IMAP and POP3: a folder's
files numbered in Dovecot's own `dovecot-uidlist` (folder_uids.py, uidlist.py)
with `dovecot-keywords` (keywords.py), so Dovecot and Mailroom can take turns
on one Maildir.

For IMAP and POP3 sessions: `MailStore` (account.py) hands out `Account`s and
shared `Mailbox`es (mailbox.py), whose state on disk and in the SQLite index
(index.py) is kept by folder_state.py (on folder_sync.py and folder_memory.py);
`MailboxEvents` (events.py) wakes IDLE sessions. Imports no protocol.
"""

from mailroom.store.account import Account, MailStore
from mailroom.store.errors import (
    FlagError,
    FolderError,
    FolderExists,
    FolderNotFound,
    MailboxDeleted,
    MessageGone,
    QuotaExceeded,
    SpecialUseError,
)
from mailroom.store.events import (
    EVENT_ORIGIN,
    AccountListener,
    ListChange,
    ListChangeKind,
    MailboxEvents,
    Waiter,
)
from mailroom.store.file_changes import FlagMode
from mailroom.store.filename import unique_name
from mailroom.store.folder_list import FolderInfo
from mailroom.store.folder_view import FolderStatus
from mailroom.store.keywords import Keywords, KeywordsError, TooManyKeywords
from mailroom.store.mailbox import Mailbox
from mailroom.store.maildir import (
    INBOX,
    FolderNameError,
    Maildir,
    folder_directory,
    folder_name,
)
from mailroom.store.message_cache import MESSAGE_VALUES, MessageValues
from mailroom.store.paths import (
    MailboxLocation,
    MailboxPathError,
    SieveLocation,
    locate_mailbox,
    locate_sieve,
    mailbox_path,
)
from mailroom.store.quota import (
    MaildirSize,
    Quota,
    check_quota,
    current_usage,
    parse_maildirsize,
    recalculate,
    record_delivery,
)
from mailroom.store.sieve_scripts import (
    NoSuchScript,
    QuotaKind,
    ScriptExists,
    ScriptInfo,
    ScriptIsActive,
    ScriptNameError,
    ScriptQuota,
    ScriptQuotaExceeded,
    ScriptStoreError,
    SieveScripts,
    script_name_problem,
)
from mailroom.store.snapshot import MessageInfo, Snapshot
from mailroom.store.uidlist import LockTimeout, UidList, UidListError, UidRecord
from mailroom.store.writing import FolderWriter, NewMessage, Put

__all__ = [
    "EVENT_ORIGIN",
    "INBOX",
    "MESSAGE_VALUES",
    "Account",
    "AccountListener",
    "FlagError",
    "FlagMode",
    "FolderError",
    "FolderExists",
    "FolderInfo",
    "FolderNameError",
    "FolderNotFound",
    "FolderStatus",
    "FolderWriter",
    "Keywords",
    "KeywordsError",
    "ListChange",
    "ListChangeKind",
    "LockTimeout",
    "MailStore",
    "Mailbox",
    "MailboxDeleted",
    "MailboxEvents",
    "MailboxLocation",
    "MailboxPathError",
    "Maildir",
    "MaildirSize",
    "MessageGone",
    "MessageInfo",
    "MessageValues",
    "NewMessage",
    "NoSuchScript",
    "Put",
    "Quota",
    "QuotaExceeded",
    "QuotaKind",
    "ScriptExists",
    "ScriptInfo",
    "ScriptIsActive",
    "ScriptNameError",
    "ScriptQuota",
    "ScriptQuotaExceeded",
    "ScriptStoreError",
    "SieveLocation",
    "SieveScripts",
    "Snapshot",
    "SpecialUseError",
    "TooManyKeywords",
    "UidList",
    "UidListError",
    "UidRecord",
    "Waiter",
    "check_quota",
    "current_usage",
    "folder_directory",
    "folder_name",
    "locate_mailbox",
    "locate_sieve",
    "mailbox_path",
    "parse_maildirsize",
    "recalculate",
    "record_delivery",
    "script_name_problem",
    "unique_name",
]
