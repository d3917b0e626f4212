"""The folders a new account gets, and the rule that keeps them out of existing Maildirs.

A member's first login (IMAP or POP3) used to add Drafts, Sent, Junk, Trash and
Archive to whatever Maildir it found, subscribed: a Maildir coming from Dovecot
got an empty `Drafts` beside its `Entwürfe`, and clients switched to it. Now
only a new, empty Maildir gets them (`is_new_maildir` says exactly which); an
existing one is served as it is, its `subscriptions` file untouched, and its
folders get SPECIAL-USE from the configured name lists instead (special_use.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from mailroom.store.folder_list import is_folder
from mailroom.store.folder_names import FolderNames
from mailroom.store.maildir import Maildir
from mailroom.store.special_use import DEFAULT_FOLDERS, change_special_use
from mailroom.store.subscriptions import FILE_NAME as SUBSCRIPTIONS_FILE
from mailroom.store.subscriptions import Levels, change_subscriptions
from mailroom.store.uidlist import FILE_NAME as UIDLIST_FILE
from mailroom.store.uidlist import LOCK_WAIT_SECONDS


def is_new_maildir(root: Path) -> bool:
    """Whether the Maildir at `root` is new and empty, so it may get the default folders.

    New means all of:
    - no folder: no directory in the root whose name starts with "." (a Maildir++
      folder, selectable or not, valid name or not);
    - no `subscriptions` file (a member or a server subscribed something once,
      even if the list is empty now);
    - no `dovecot-uidlist` in the root: no IMAP or POP3 server has served it yet
      (Dovecot writes one at the first session or LDA delivery, Mailroom at the
      first open of INBOX, which comes after this check), so an emptied-out
      POP3-only Maildir from Dovecot is not new;
    Mail in INBOX does not count: Mailroom's own delivery writes no uidlist, so an
    account that received mail before its first login is still new and gets the
    default folders, as it would have without that mail. A Maildir that came from
    Dovecot has a `dovecot-uidlist` as soon as Dovecot served or delivered to it
    once. A missing root is new. Anything else (index caches, `maildirsize`, Sieve
    scripts) does not make it old.
    """
    if (root / SUBSCRIPTIONS_FILE).exists() or (root / UIDLIST_FILE).exists():
        return False
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    return False
    except FileNotFoundError:
        return True
    return True


def create_default_folders(
    root: Path,
    names: FolderNames,
    *,
    hostname: str,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> bool:
    """Create the root and, if it is new (`is_new_maildir`), the default folders,
    subscribed and recorded with their SPECIAL-USE; whether folders were made.

    An existing Maildir only gets a missing `cur/`, `new/` or `tmp/` of its own,
    as Dovecot makes them when it opens one. Two first logins at once may both
    find it new: creating a folder that exists and subscribing a name twice
    change nothing, so the result is the same."""
    new = is_new_maildir(root)
    maildir = Maildir(root, hostname=hostname)
    maildir.create()
    if not new:
        return False
    created: list[Levels] = []
    recorded: dict[str, str | None] = {}
    for name, attribute in DEFAULT_FOLDERS.items():
        path = names.path(root, name)
        if not is_folder(path):
            maildir.create_folder(name)
            created.append((name,))
            recorded[path.name] = attribute
    if not created:
        return False
    change_subscriptions(root, add=created, wait=lock_wait)
    change_special_use(root, set_to=recorded, wait=lock_wait)
    return True
