"""What every session of a folder reads without I/O: its messages at one moment.

`FolderView` is the part of a `Mailbox` (mailbox.py) that sessions read on the event
loop: the snapshot the folder's worker publishes (folder_memory.py), and what IMAP
derives from it (STATUS, CONDSTORE's CHANGEDSINCE, QRESYNC's vanished UIDs), and
the folder's change events (IDLE). Nothing here touches the disk or takes a lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mailroom.store.events import MailboxEvents, Waiter
from mailroom.store.folder_state import FolderState
from mailroom.store.keywords import (
    MAX_KEYWORDS,
)
from mailroom.store.snapshot import MessageInfo, Snapshot


@dataclass(frozen=True)
class FolderStatus:
    """What STATUS reports (RFC 9051 §6.3.11, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE)."""

    messages: int
    uidnext: int
    uidvalidity: int
    unseen: int
    recent: int
    size: int
    highestmodseq: int
    deleted: int


class FolderView:
    """The read side of a Mailbox: its state, as every session of the folder sees it."""

    path: Path
    events: MailboxEvents
    _state: FolderState

    @property
    def snapshot(self) -> Snapshot:
        """Everything below at one moment (a session that needs several values at once)."""
        return self._state.snapshot

    @property
    def messages(self) -> Sequence[MessageInfo]:
        return self._state.snapshot.messages

    @property
    def uidvalidity(self) -> int:
        return self._state.snapshot.uidvalidity

    @property
    def uidnext(self) -> int:
        return self._state.snapshot.uidnext

    @property
    def highestmodseq(self) -> int:
        return self._state.snapshot.highestmodseq

    @property
    def keywords(self) -> tuple[str, ...]:
        """The keywords the folder knows (FLAGS, PERMANENTFLAGS)."""
        return self._state.snapshot.keywords

    @property
    def can_create_keywords(self) -> bool:
        """Whether PERMANENTFLAGS may include \\* (Maildir holds 26 keywords per folder)."""
        return len(self._state.snapshot.keywords) < MAX_KEYWORDS

    def find(self, uid: int) -> MessageInfo | None:
        return self._state.snapshot.find(uid)

    def changed_since(self, modseq: int) -> list[MessageInfo]:
        """Messages whose modseq is above `modseq` (CONDSTORE CHANGEDSINCE)."""
        return [m for m in self._state.snapshot.messages if m.modseq > modseq]

    def vanished_since(self, modseq: int) -> list[int]:
        """UIDs expunged after `modseq` (QRESYNC, RFC 7162 §3.2.10).

        When the index was rebuilt after `modseq`, the exact answer is lost;
        then every UID below UIDNEXT that is not a message now is reported,
        which RFC 7162 §3.2.5.2 allows (the client ignores UIDs it never had).
        """
        state = self._state
        if modseq < state.history_start:
            present = set(state.snapshot.uids)
            return [uid for uid in range(1, state.snapshot.uidnext) if uid not in present]
        modseqs, uids = state.expunged_modseqs, state.expunged_uids
        low, high = 0, len(modseqs)
        while low < high:
            middle = (low + high) // 2
            if modseqs[middle] <= modseq:
                low = middle + 1
            else:
                high = middle
        return sorted(set(uids[low:]) - set(state.snapshot.uids))

    def status(self) -> FolderStatus:
        snapshot = self._state.snapshot
        first_recent = self._state.first_recent_uid
        unseen = recent = deleted = size = 0
        for message in snapshot.messages:
            flags = message.flags
            unseen += "\\Seen" not in flags
            deleted += "\\Deleted" in flags
            recent += message.recent or message.uid >= first_recent
            size += message.size
        return FolderStatus(
            messages=len(snapshot.messages),
            uidnext=snapshot.uidnext,
            uidvalidity=snapshot.uidvalidity,
            unseen=unseen,
            recent=recent,
            size=size,
            highestmodseq=snapshot.highestmodseq,
            deleted=deleted,
        )

    def watch(self) -> contextlib.AbstractAsyncContextManager[Waiter]:
        """`async with mailbox.watch() as waiter: await waiter.wait()` (IDLE)."""
        return self.events.watch(self.path)
