"""Which folder is the account's Sent, Drafts, Trash, Junk and Archive (RFC 6154).

Dovecot keeps SPECIAL-USE in its configuration, by folder name; a member's
own choice (CREATE … USE (\\Sent), RFC 6154 §3) must live with the mailbox,
so we keep it in `mailroom-special-use` in the Maildir's root (no leading
".": in Maildir++ that would be a folder): one `<attribute> TAB
<directory>` line each, e.g. "\\Sent\t.Sent". A folder with no line there
gets the attribute of its name when it is one of the default folders'
names and no other folder claimed that attribute, so a Maildir coming from
Dovecot shows its Sent folder as \\Sent at once.
"""

from __future__ import annotations

from pathlib import Path

from mailroom.durable import fsync_directory
from mailroom.store.uidlist import LOCK_WAIT_SECONDS, DotLock

FILE_NAME = "mailroom-special-use"
DEFAULT_FOLDERS = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}
"""The folders every account gets (ensure_default_folders), and their attributes."""
SUPPORTED = frozenset(DEFAULT_FOLDERS.values())
"""\\All and \\Flagged would need virtual folders, which the store does not have."""


def read_special_use(root: Path) -> dict[str, str]:
    """Directory → attribute, as recorded."""
    try:
        text = (root / FILE_NAME).read_text("utf-8", "replace")
    except FileNotFoundError:
        return {}
    found: dict[str, str] = {}
    for line in text.split("\n"):
        attribute, tab, directory = line.partition("\t")
        if tab and attribute in SUPPORTED and directory.startswith("."):
            found[directory] = attribute
    return found


def attributes_of(directories: dict[str, str], recorded: dict[str, str]) -> dict[str, str]:
    """Directory → attribute for the folders `directories` (directory → top-level name)."""
    result = {d: a for d, a in recorded.items() if d in directories}
    claimed = set(result.values())
    for directory, name in directories.items():
        attribute = DEFAULT_FOLDERS.get(name)
        if directory not in result and attribute is not None and attribute not in claimed:
            result[directory] = attribute
    return result


def change_special_use(
    root: Path,
    *,
    set_to: dict[str, str | None],
    wait: float = LOCK_WAIT_SECONDS,
) -> None:
    """Record (attribute) or forget (None) the attribute of each directory in `set_to`."""
    with DotLock(root / FILE_NAME, wait=wait) as lock:
        recorded = read_special_use(root)
        for directory, attribute in set_to.items():
            if attribute is None:
                recorded.pop(directory, None)
            else:
                # One folder per attribute: the newest claim wins.
                for other in [d for d, a in recorded.items() if a == attribute]:
                    del recorded[other]
                recorded[directory] = attribute
        content = "".join(f"{a}\t{d}\n" for d, a in sorted(recorded.items()))
        lock.replace(content.encode("utf-8"))
    fsync_directory(root)
