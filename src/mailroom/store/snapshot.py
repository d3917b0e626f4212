"""What every session of a folder sees: its messages at one moment.

A `Snapshot` is immutable and replaced whole by the folder's worker
(folder_state.py), so sessions on the event loop read it without a lock and
never see half a change. Messages are kept in a tuple sorted by UID beside
an `array` of the UIDs, for O(log n) lookup at a few bytes per message;
the per-message `MessageInfo` objects share their flag sets (flags.py).
"""

from __future__ import annotations

import os
import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

_LINE_END = re.compile(rb"\r?\n")


class MessageInfo(NamedTuple):
    """One message of a folder, as every session sees it. Immutable: changes make a new
    one (`_replace`). A named tuple rather than a frozen dataclass: a STORE or a COPY
    makes thousands, and a frozen dataclass takes three times as long to build."""

    uid: int
    flags: frozenset[str]
    """System flags and keywords (never \\Recent: that is per session)."""
    modseq: int
    size: int
    """Size with CRLF line ends: RFC822.SIZE, and what POP3 LIST reports."""
    internaldate: datetime
    recent: bool
    """The file is still in new/, so no session has claimed it as \\Recent yet (one in
    cur/ may be unclaimed too: the folder's first recent UID says, folder_state.py)."""
    base_name: str
    """The name recorded in dovecot-uidlist (stable across flag changes)."""
    file_name: str
    info: str
    """The flag letters after `:2,`, including ones that are no IMAP flag."""
    stored_size: int
    """Bytes on disk (LF line ends): what the Maildir++ quota counts."""
    folder: Path

    @property
    def path(self) -> Path:
        return Path(self.file_path)

    @property
    def file_path(self) -> str:
        """`path` as a string: cheaper where thousands are renamed at once."""
        return os.path.join(self.folder, "new" if self.recent else "cur", self.file_name)


@dataclass(frozen=True)
class Snapshot:
    """A folder's state at one moment; replaced whole, never changed."""

    messages: tuple[MessageInfo, ...]
    uids: array[int]
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    keywords: tuple[str, ...]

    def find(self, uid: int) -> MessageInfo | None:
        index = self.position(uid)
        return None if index is None else self.messages[index]

    def position(self, uid: int) -> int | None:
        """The index of `uid` in `messages` (binary search), or None."""
        low = bisect_left(self.uids, uid)
        return low if low < len(self.uids) and self.uids[low] == uid else None


def crlf(data: bytes) -> bytes:
    """The message with CRLF line ends, as IMAP and POP3 serve it (Maildir stores LF)."""
    if b"\r" not in data:  # as stored by Maildir: LF only, the fast way
        return data.replace(b"\n", b"\r\n")
    if data.count(b"\n") == data.count(b"\r\n"):
        # Already CRLF throughout (a Maildir written by another program): as it is.
        # A lone CR is no line end and stays as the regex would leave it.
        return data
    return _LINE_END.sub(b"\r\n", data)


def virtual_size(data: bytes) -> int:
    """The size with CRLF line ends of a message stored with LF (or a mix)."""
    return len(data) + data.count(b"\n") - data.count(b"\r\n")
