"""Which folder is the account's Sent, Drafts, Trash, Junk and Archive (RFC 6154).

Two sources, the first winning:
- a member's own choice (CREATE … USE (\\Sent), RFC 6154 §3), which must live
  with the mailbox: `mailroom-special-use` in the Maildir's root (no leading
  ".": in Maildir++ that would be a folder), one `<attribute> TAB <directory>`
  line each, e.g. "\\Sent\t.Sent"; the default folders of a new Maildir are
  recorded there too;
- the operator's name lists (`[mailbox.special_use]`), as Dovecot keeps
  SPECIAL-USE in its configuration by folder name (`mailbox "Sent Messages" {
  special_use = \\Sent }`), so a Maildir coming from Dovecot shows its
  "Entwürfe" as \\Drafts at once, with nothing added to it. In each list the
  first name that exists as a folder gets the attribute, and only if no
  recorded folder has it: one folder per attribute, so clients agree on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
"""The folders a new, empty Maildir gets (Account.ensure_default_folders), and their
attributes."""
SUPPORTED = frozenset(DEFAULT_FOLDERS.values())
"""\\All and \\Flagged would need virtual folders, which the store does not have."""

NameLists = Mapping[str, Sequence[str]]
"""Attribute → folder names in order of preference (config's `[mailbox.special_use]`)."""
DEFAULT_NAMES: NameLists = {attribute: (name,) for name, attribute in DEFAULT_FOLDERS.items()}
"""The name lists when none are configured: the default folders' own names."""


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


def attributes_of(
    directories: dict[str, str], recorded: dict[str, str], names: NameLists = DEFAULT_NAMES
) -> dict[str, str]:
    """Directory → attribute for the folders `directories` (directory → full name):
    the recorded ones, then by `names` each attribute no recorded folder has."""
    result = {d: a for d, a in recorded.items() if d in directories}
    claimed = set(result.values())
    by_name = {name: directory for directory, name in directories.items()}
    for attribute, candidates in names.items():
        if attribute in claimed:
            continue
        for name in candidates:
            directory = by_name.get(name)
            if directory is not None and directory not in result:
                result[directory] = attribute
                break
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
