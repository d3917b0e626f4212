"""The maildrop: INBOX as one POP3 session sees it (RFC 1939 §5–6).

At login the session takes the INBOX's messages as they are then and numbers them
1..n in UID order; later deliveries wait for the next session, and numbers never
shift. DELE only marks a message. QUIT (the UPDATE state) removes what is marked in
one step and sets \\Seen on what was retrieved, as Dovecot's POP3 does; a session that
ends any other way (a lost connection, a crash) changes nothing.

UIDL values are Dovecot's: its default `pop3_uidl_format` %08Xu%08Xv, the UID and the
folder's UIDVALIDITY in hex, which a migrated Maildir keeps (both come from
`dovecot-uidlist`), so "leave mail on server" clients fetch nothing twice; a UIDL
Dovecot kept in the uidlist (its P field) comes first, as in Dovecot.

One POP3 session at a time per maildrop (`MaildropLocks`); IMAP sessions of the same
mailbox go on as before and see the removals as EXPUNGEs.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from mailroom.pop3.replies import MESSAGE_DELETED, Pop3Error, no_such_message
from mailroom.store import Mailbox, MessageInfo

LOCK_FILE = "mailroom-pop3.lock"
"""In the Maildir's top directory; flock()ed by the session that has the maildrop."""

READ_AHEAD_MESSAGES = 32
"""Messages read from disk in one trip to a store thread."""
READ_AHEAD_BYTES = 1024 * 1024
"""Bytes of messages read before the client asks for them (per session)."""

_VALID_UIDL = re.compile(r"[\x21-\x7e]{1,70}")
"""RFC 1939 §7: a unique-id is 1 to 70 characters from 0x21 to 0x7E."""


def dovecot_uidl(uid: int, uidvalidity: int) -> str:
    """Dovecot's default pop3_uidl_format `%08Xu%08Xv`: its %X writes lower-case hex
    (Dovecot 2.3 answered so; 1.x's var_expand printed with %llx too)."""
    return f"{uid:08x}{uidvalidity:08x}"


class NoSuchMessage(Pop3Error):
    """The client named a message that is not there (a -ERR, nothing worse: not a bad
    command)."""


class MaildropLocks:
    """Which maildrops a POP3 session has open: in this process by path, and across
    processes with flock() on LOCK_FILE (released by the kernel if the process dies)."""

    def __init__(self) -> None:
        self._held: dict[Path, int] = {}

    async def acquire(self, root: Path) -> bool:
        """Take the maildrop at `root`; False when another session has it."""
        if root in self._held:
            return False
        self._held[root] = -1  # ours while the flock is being taken
        try:
            descriptor = await asyncio.to_thread(_flock, root / LOCK_FILE)
        except BaseException:
            del self._held[root]
            raise
        if descriptor is None:
            del self._held[root]
            return False
        self._held[root] = descriptor
        return True

    def release(self, root: Path) -> None:
        descriptor = self._held.pop(root, -1)
        if descriptor >= 0:
            os.close(descriptor)  # drops the flock


def _flock(path: Path) -> int | None:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


class Maildrop:
    """The messages of one POP3 session, its DELE marks and what it retrieved."""

    def __init__(
        self, mailbox: Mailbox, messages: Sequence[MessageInfo], kept_uidls: dict[int, str]
    ) -> None:
        self.mailbox = mailbox
        self.messages = tuple(messages)
        uidvalidity = mailbox.uidvalidity
        self.uidls = tuple(
            kept
            if (kept := kept_uidls.get(m.uid)) is not None and _VALID_UIDL.fullmatch(kept)
            else dovecot_uidl(m.uid, uidvalidity)
            for m in self.messages
        )
        self.deleted: set[int] = set()
        """Indexes (number - 1) of messages marked by DELE."""
        self.retrieved: set[int] = set()
        """Indexes of messages sent whole by RETR (TOP does not count: Dovecot's rule)."""
        self._ready: dict[int, bytes] = {}
        self._ahead: asyncio.Task[dict[int, bytes]] | None = None
        self._ahead_indexes: frozenset[int] = frozenset()

    @classmethod
    async def open(cls, mailbox: Mailbox) -> Maildrop:
        await mailbox.sync()
        return cls(mailbox, mailbox.messages, await mailbox.pop3_uidls())

    # -- the listing --

    def index(self, number: int) -> int:
        """The index of message `number`; NoSuchMessage when it does not exist or is
        marked deleted (RFC 1939: such a message may not be referred to)."""
        if not 1 <= number <= len(self.messages):
            raise NoSuchMessage(no_such_message(number))
        if number - 1 in self.deleted:
            raise NoSuchMessage(MESSAGE_DELETED)
        return number - 1

    def present(self) -> Iterable[int]:
        """Indexes of the messages not marked deleted, in order."""
        deleted = self.deleted
        return (i for i in range(len(self.messages)) if i not in deleted)

    def stat(self) -> tuple[int, int]:
        """(messages, octets) not marked deleted: STAT's answer."""
        sizes = [self.messages[i].size for i in self.present()]
        return len(sizes), sum(sizes)

    def size(self, index: int) -> int:
        """RFC822.SIZE: octets with CRLF line ends, as RETR sends them before stuffing."""
        return self.messages[index].size

    def delete(self, number: int) -> None:
        self.deleted.add(self.index(number))

    def reset(self) -> None:
        """RSET: no message is marked deleted any more."""
        self.deleted.clear()

    # -- reading --

    def ready(self, index: int) -> bytes | None:
        """The message if it has been read already (see `read`), else None."""
        data = self._ready.pop(index, None)
        if data is not None:
            self._keep_reading(index)
        return data

    async def read(self, index: int) -> bytes | None:
        """The message with CRLF line ends; None if another session removed it.

        A client that reads in order (they all do) finds the next messages already
        read: each trip to a store thread reads up to READ_AHEAD_MESSAGES of them, and
        the next trip starts while the client is sent this one."""
        data = self._ready.pop(index, None)
        if data is None and self._ahead is not None and index in self._ahead_indexes:
            data = await self._take_ahead(index)
        if data is None:
            self._ready.clear()  # the client jumped: what was read ahead waits in vain
            self._ready.update(await self._read(self._batch(index)))
            data = self._ready.pop(index, None)
        self._keep_reading(index)
        return data

    def _keep_reading(self, index: int) -> None:
        if self._ahead is None and len(self._ready) < READ_AHEAD_MESSAGES // 2:
            self._read_ahead(max(self._ready, default=index) + 1)

    async def _take_ahead(self, index: int) -> bytes | None:
        assert self._ahead is not None
        ahead, self._ahead = self._ahead, None
        self._ahead_indexes = frozenset()
        self._ready.update(await ahead)
        return self._ready.pop(index, None)

    def _read_ahead(self, start: int) -> None:
        batch = [i for i in self._batch(start) if i not in self._ready]
        # Only messages of moderate size are read before they are asked for.
        if batch and self.messages[batch[0]].size <= READ_AHEAD_BYTES:
            self._ahead = asyncio.ensure_future(self._read(batch))
            self._ahead_indexes = frozenset(batch)

    def _batch(self, start: int) -> list[int]:
        """Indexes from `start` on, not marked deleted, up to READ_AHEAD_MESSAGES and
        READ_AHEAD_BYTES (the first always, whatever its size)."""
        batch: list[int] = []
        total = 0
        for index in range(start, len(self.messages)):
            if index in self.deleted:
                continue
            size = self.messages[index].size
            if batch and (total + size > READ_AHEAD_BYTES or len(batch) >= READ_AHEAD_MESSAGES):
                break
            batch.append(index)
            total += size
        return batch

    async def _read(self, indexes: list[int]) -> dict[int, bytes]:
        if not indexes:
            return {}
        uids = [self.messages[i].uid for i in indexes]
        found = await self.mailbox.read_many(uids)
        return {i: found[uid] for i, uid in zip(indexes, uids, strict=True) if uid in found}

    def drop_read_ahead(self) -> None:
        """Forget what was read ahead (the session is ending)."""
        self._ready.clear()
        if self._ahead is not None:
            ahead, self._ahead = self._ahead, None
            ahead.cancel()
            ahead.add_done_callback(_ignore_result)  # no "exception never retrieved"

    # -- UPDATE --

    async def commit(self) -> int:
        """QUIT in the TRANSACTION state: \\Seen on what was retrieved, then the marked
        messages removed. Returns how many marked ones were already gone (removed by
        another session: not an error, they are gone as asked)."""
        self.drop_read_ahead()
        seen = [
            m.uid
            for i, m in enumerate(self.messages)
            if i in self.retrieved and i not in self.deleted and "\\Seen" not in m.flags
        ]
        if seen:
            await self.mailbox.store_flags(seen, "add", ["\\Seen"])
        if not self.deleted:
            return 0
        removed = await self.mailbox.remove(self.messages[i].uid for i in self.deleted)
        return len(self.deleted) - len(removed)


def _ignore_result(task: asyncio.Task[dict[int, bytes]]) -> None:
    if not task.cancelled():
        task.exception()
