"""Maildir++ quota: the `maildirsize` file that Dovecot's `quota = maildir` shares.

The file sits in the Maildir's root. Its first line holds the limits
("1073741824S" bytes, optionally ",1000C" messages); every further line is
"<bytes> <messages>\\n", a change in usage (negative for expunges), and the
usage is their sum. Each delivery appends one line with a single write() on
an O_APPEND descriptor, so concurrent writers do not interleave.

As the Maildir++ specification says, the file is rebuilt from the mailbox
(sizes from the `,S=` of each file name in cur/ and new/ of the Maildir and
of every folder; a `stat()` where a name has none) when it is missing, when
it has grown past 5120 bytes, or when it cannot be read; and, as Dovecot
does, when its limit is not the account's current one. Unlike Courier, and
like Dovecot, the Trash folder counts. Nothing here is fsynced: the file is
an estimate that any reader may rebuild, never the only copy of anything.

The check is soft in the way Maildir++ quota always is: two deliveries
checked at the same moment may together overshoot the limit by one message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mailroom.store.filename import stored_size_in, unique_name

FILE_NAME = "maildirsize"
MAX_FILE_SIZE = 5120
"""Past this size the file is rebuilt (Maildir++ specification)."""

_LIMIT = re.compile(rb"(\d{1,19})([SC])")
_USAGE = re.compile(rb"[ \t]*(-?\d{1,19})[ \t]+(-?\d{1,19})[ \t]*")


@dataclass(frozen=True)
class Quota:
    """The Maildir++ quota of an account: its root (where `maildirsize` is), its limit."""

    root: Path
    limit_bytes: int | None


@dataclass(frozen=True)
class MaildirSize:
    """What a `maildirsize` file says: limits (None: not set) and usage."""

    bytes_limit: int | None
    messages_limit: int | None
    used_bytes: int
    used_messages: int


def parse_maildirsize(data: bytes) -> MaildirSize | None:
    """Read a `maildirsize` file's contents; None if it is not well formed."""
    if not data.endswith(b"\n"):
        # Empty, or cut short: a line without its end was not written whole.
        return None
    first, *usage_lines = data[:-1].split(b"\n")
    limits: dict[bytes, int] = {}
    if first.strip():
        for item in first.split(b","):
            match = _LIMIT.fullmatch(item.strip())
            if match is None or match.group(2) in limits:
                return None
            limits[match.group(2)] = int(match.group(1))
    used_bytes = used_messages = 0
    for line in usage_lines:
        match = _USAGE.fullmatch(line)
        if match is None:
            return None
        used_bytes += int(match.group(1))
        used_messages += int(match.group(2))
    if used_bytes < 0 or used_messages < 0:
        return None
    return MaildirSize(limits.get(b"S"), limits.get(b"C"), used_bytes, used_messages)


def limits_line(bytes_limit: int | None, messages_limit: int | None = None) -> str:
    """The first line of the file for these limits (Dovecot's spelling)."""
    parts = []
    if bytes_limit is not None:
        parts.append(f"{bytes_limit}S")
    if messages_limit is not None:
        parts.append(f"{messages_limit}C")
    return ",".join(parts)


def message_size(name: str, path: Path) -> int | None:
    """A message file's stored size: from `,S=` in its name, else stat(); None if it is gone."""
    size = stored_size_in(name)
    if size is not None:
        return size
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def scan_usage(root: Path) -> tuple[int, int]:
    """(bytes, messages) of every message in the Maildir at `root` and its folders."""
    mailboxes = [root]
    try:
        with os.scandir(root) as entries:
            mailboxes += [
                Path(entry.path)
                for entry in entries
                if entry.name.startswith(".")
                and entry.name not in (".", "..")
                and entry.is_dir(follow_symlinks=False)
            ]
    except FileNotFoundError:
        return 0, 0
    total_bytes = total_messages = 0
    for mailbox in mailboxes:
        for sub in ("cur", "new"):
            try:
                with os.scandir(mailbox / sub) as entries:
                    for entry in entries:
                        if entry.name.startswith("."):
                            continue
                        size = message_size(entry.name, Path(entry.path))
                        if size is not None:
                            total_bytes += size
                            total_messages += 1
            except (FileNotFoundError, NotADirectoryError):
                continue
    return total_bytes, total_messages


def recalculate(root: Path, bytes_limit: int | None) -> MaildirSize:
    """Rebuild `maildirsize` from the mailbox's contents, with `bytes_limit` as its limit."""
    used_bytes, used_messages = scan_usage(root)
    content = f"{limits_line(bytes_limit)}\n{used_bytes} {used_messages}\n".encode()
    # Written beside and renamed over, so a reader sees the old file or the new one.
    scratch_dir = root / "tmp" if (root / "tmp").is_dir() else root
    scratch = scratch_dir / f"{unique_name('maildirsize')}.maildirsize"
    with open(scratch, "wb") as file:
        file.write(content)
    os.replace(scratch, root / FILE_NAME)
    return MaildirSize(bytes_limit, None, used_bytes, used_messages)


def current_usage(root: Path, bytes_limit: int | None) -> MaildirSize:
    """The usage the file records, rebuilding it first when the Maildir++ rules say so."""
    path = root / FILE_NAME
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_SIZE + 1)
    except FileNotFoundError:
        return recalculate(root, bytes_limit)
    if len(data) > MAX_FILE_SIZE:
        return recalculate(root, bytes_limit)
    recorded = parse_maildirsize(data)
    if recorded is None or recorded.bytes_limit != bytes_limit:
        return recalculate(root, bytes_limit)
    return recorded


def check_quota(maildir: Path, limit: int | None, incoming_size: int) -> bool:
    """Whether a message of `incoming_size` bytes fits under `limit` (None: unlimited)."""
    if limit is None:
        return True
    return current_usage(maildir, limit).used_bytes + incoming_size <= limit


def record_delivery(maildir: Path, size: int, messages: int = 1) -> None:
    """Add a delivery to `maildirsize`, if the mailbox keeps one (else the next check counts it)."""
    try:
        fd = os.open(maildir / FILE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        os.write(fd, f"{size} {messages}\n".encode())
    finally:
        os.close(fd)
