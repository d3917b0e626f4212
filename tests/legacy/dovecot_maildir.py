"""Maildirs as Dovecot 2.3 leaves them, written directly for the import's Maildir tests:
message files named as Dovecot names them (no `,W=`: Dovecot's LDA keeps the virtual
size in `dovecot-uidlist`, or not at all), a version 3 `dovecot-uidlist`,
`dovecot-keywords` and `subscriptions`. The format is store/uidlist.py's docstring."""

from __future__ import annotations

import os
from pathlib import Path

MESSAGE = b"From: a@example.org\r\nSubject: hello %d\r\n\r\nbody %d\r\n"
UIDVALIDITY = 1795616411
MTIME = 1_700_000_000


def write_folder(folder: Path, count: int, *, numbered: int | None = None) -> list[str]:
    """A folder with `count` messages, the first `numbered` (default: all) listed in its
    `dovecot-uidlist`; the first half are \\Seen in cur/, the rest in new/. The file
    names, in UID order."""
    numbered = count if numbered is None else numbered
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    lines = [f"3 V{UIDVALIDITY} N{numbered + 1} G98c6a82b9bee066b4535000083ecc375"]
    for index in range(count):
        body = MESSAGE.replace(b"%d", str(index).encode())
        base = f"{MTIME + index}.M{index}P1.legacy,S={len(body)}"
        path = folder / "cur" / f"{base}:2,S" if index < count // 2 else folder / "new" / base
        path.write_bytes(body)
        os.utime(path, (MTIME + index, MTIME + index))
        if index < numbered:
            lines.append(f"{index + 1} :{base}")
        names.append(path.name)
    (folder / "dovecot-uidlist").write_text("\n".join(lines) + "\n")
    return names


def write_maildir(root: Path, folders: dict[str, int]) -> None:
    """A Maildir++ mailbox: INBOX (key "INBOX") and folders by directory name
    (".Sent"), each with that many messages, plus keywords and subscriptions."""
    for name, count in folders.items():
        folder = root if name == "INBOX" else root / name
        write_folder(folder, count)
        if name != "INBOX":
            (folder / "maildirfolder").touch()
    (root / "dovecot-keywords").write_text("0 $Forwarded\n1 Important\n")
    subscribed = [name[1:] for name in folders if name != "INBOX"]
    (root / "subscriptions").write_text("".join(f"{name}\n" for name in subscribed))


def dovecot_files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file Dovecot reads below `root` (not Mailroom's index), with its bytes and
    mtime: what the import must leave as it is."""
    found: dict[str, tuple[bytes, int]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("mailroom-index"):
            found[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found
