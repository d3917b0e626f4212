"""A Maildir as Dovecot 2.3 leaves it after a member's years of IMAP use: German folder
names in modified UTF-7 on disk, a nested folder, and a `subscriptions` file, for the
tests that Mailroom serves such a Maildir without adding to it.

The `subscriptions` bytes are what Debian's Dovecot 2.3.19 wrote (default settings,
Maildir++) after `CREATE "Entw&APw-rfe"`, `SUBSCRIBE "Entw&APw-rfe"`, `SUBSCRIBE INBOX`,
`CREATE Lists.Python`, `SUBSCRIBE Lists.Python`; the messages and uidlists come from
tests/store/fixtures (dovecot_maildir.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.support.dovecot_maildir import FIXTURE
from tests.support.mail_host import MailHost

DOVECOT_SUBSCRIPTIONS = b"V\t2\n\nEntw&APw-rfe\nINBOX\nLists\tPython\n"
"""Version 2, levels TAB-separated, each level in modified UTF-7 (as on disk)."""
FOLDERS = (".Entw&APw-rfe", ".Gesendet", ".Lists.Python", ".Papierkorb", ".Spam")
"""Folder directories of the legacy Maildir ("Entwürfe" comes from the fixture)."""


def install_legacy_maildir(host: MailHost, address: str) -> Path:
    """The legacy Maildir as `address`'s mailbox on `host`; its root."""
    root = host.maildir(address)
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(FIXTURE, root)
    for directory in FOLDERS:
        for sub in ("cur", "new", "tmp"):
            (root / directory / sub).mkdir(parents=True, exist_ok=True)
        (root / directory / "maildirfolder").touch()
    (root / "subscriptions").write_bytes(DOVECOT_SUBSCRIPTIONS)
    return root


def folder_directories(root: Path) -> list[str]:
    """The Maildir++ folder directories in `root`, sorted."""
    return sorted(
        entry.name for entry in os.scandir(root) if entry.name.startswith(".") and entry.is_dir()
    )
