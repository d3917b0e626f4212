"""A session's view of its selected mailbox: sequence numbers, and what it has been told.

Every session that selects a folder shares one `store.Mailbox` (its messages, flags,
mod-sequences). What is the session's own is small: the UIDs it knows, in order
(message sequence number n is `uids[n-1]`), and the highest mod-sequence it has
reported, which messages are \\Recent for it, and which keywords it has been told
of. `updates()` compares that with the mailbox and writes the untagged FLAGS,
EXPUNGE (or VANISHED), EXISTS, RECENT and FETCH FLAGS that bring the client up to
date (RFC 9051 §7.5.1, §7.4.1; RFC 7162 §3.2.10 for VANISHED).

\\Recent (RFC 3501 §2.3.2) is Dovecot's: a read-write session claims the recent
messages it learns of (SELECT, and each EXISTS), so that no other session gets them
(store/folder_state.py); a read-only one shows the unclaimed ones, claiming none.

A keyword never shows in a FETCH before a `* FLAGS` that lists it (RFC 3501
§7.2.6): when the folder has keywords the client has not been told of (its own
STORE made one, or another session did), FLAGS and PERMANENTFLAGS go first, as
Dovecot sends them (`announce_keywords`).

Expunges are held back while a FETCH, STORE or SEARCH (by sequence number) runs:
their numbers would shift under the client (RFC 9051 §7.5.1).

The commands that need a selected mailbox find it with `selected_view` /
`writable_view`, turn a client's sequence set into UIDs with `resolve`, and the UIDs
into numbered messages with `numbered`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Protocol

from mailroom.imap import responses
from mailroom.imap.sequence import SequenceSet, format_set
from mailroom.imap.wire import Atom, format_flags, response, serialize, status_response
from mailroom.store import Mailbox, MessageInfo

SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


class UpdateHook(Protocol):
    """What else `updates()` tells the client: the search contexts of RFC 5267 §4.3
    (search_contexts.SearchContexts), told what is expunged and what changed."""

    def expunging(self, view: SelectedView, gone: Sequence[int]) -> bytes:
        """Responses to send before these UIDs' EXPUNGE (or VANISHED)."""
        ...

    async def changed(self, view: SelectedView) -> bytes:
        """Responses to send after the EXISTS and FETCH of new and changed messages."""
        ...


class SelectedView:
    """What one session has been told about one selected mailbox."""

    def __init__(self, mailbox: Mailbox, name: str, *, readonly: bool) -> None:
        self.mailbox = mailbox
        self.name = name
        self.readonly = readonly
        snapshot = mailbox.snapshot
        self.uids = array(snapshot.uids.typecode, snapshot.uids)
        self.known_modseq = snapshot.highestmodseq
        self.recent: set[int] = set()
        """UIDs \\Recent in this session (`take_recent`)."""
        self.announced: frozenset[str] = frozenset()
        """The keywords this client has been sent in a FLAGS response."""
        self._own: dict[int, int] = {}
        """uid → modseq of changes this session reported itself (not to repeat them)."""
        self.show_recent = True
        """False under IMAP4rev2, which has no \\Recent (RFC 9051 §2.3.2)."""
        self.saved: list[int] | None = None
        """SEARCHRES (RFC 5182): the UIDs of `SEARCH RETURN (SAVE)`."""
        self.search_updates: UpdateHook | None = None
        """Updating search contexts (RFC 5267), once a SEARCH asked for one."""

    # -- numbers --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.uids)

    def sequence_of(self, uid: int) -> int | None:
        """The message sequence number of `uid` in this view, or None."""
        position = bisect_left(self.uids, uid)
        if position < len(self.uids) and self.uids[position] == uid:
            return position + 1
        return None

    def uids_of(self, numbers: SequenceSet, *, uid: bool) -> list[int]:
        """The UIDs a sequence set names, in ascending order; numbers past the end are
        ignored for UID sets (RFC 9051 §6.4.9) and refused by the caller for sequence
        numbers (`out_of_range`)."""
        if numbers.saved:
            saved = self.saved or []
            known = set(self.uids)
            return [u for u in saved if u in known]
        if not self.uids:
            return []
        if uid:
            ranges = [
                self.uids[bisect_left(self.uids, low) : bisect_left(self.uids, high + 1)]
                for low, high in numbers.bounds(self.uids[-1])
            ]
            if len(ranges) == 1:  # `1:*` and the like: sorted already, without repeats
                return ranges[0].tolist()
            return sorted({u for found in ranges for u in found})
        count = len(self.uids)
        bounds = numbers.bounds(count)
        if len(bounds) == 1:  # `1:*`, `1:500`: a slice, not a set of positions
            low, high = bounds[0]
            return self.uids[max(low, 1) - 1 : min(high, count)].tolist()
        positions: set[int] = set()
        for low, high in bounds:
            positions.update(range(max(low, 1) - 1, min(high, count)))
        return [self.uids[p] for p in sorted(positions)]

    def out_of_range(self, numbers: SequenceSet) -> bool:
        """Whether a message sequence set names a number past the last message (in an
        empty mailbox, every set does, `*` included: there is no last message)."""
        if numbers.saved:
            return False
        return not self.uids or numbers.exceeds(len(self.uids))

    # -- telling the client ---------------------------------------------------------------

    async def take_recent(self, first: int, last: int) -> None:
        """Which of the messages from UID `first` to `last`, just learned of, are \\Recent
        in this session: claimed from the folder by a read-write session, only looked
        at by a read-only one (Dovecot's EXAMINE shows them and leaves them)."""
        if first > last:
            return
        mailbox = self.mailbox
        recent_for = mailbox.recent_uids if self.readonly else mailbox.claim_recent
        self.recent.update(await recent_for(first, last))

    def flags_response(self) -> bytes:
        """`* FLAGS` and `* OK [PERMANENTFLAGS]` with the folder's keywords, in Dovecot's
        words: SELECT's, and again whenever the folder gained keywords."""
        mailbox = self.mailbox
        keywords = sorted(mailbox.keywords)
        self.announced = frozenset(keywords)
        flags = format_flags([*SYSTEM_FLAGS, *keywords])
        if self.readonly:
            permanent, text = Atom("()"), "Read-only mailbox."
        else:
            permanent, text = flags, "Flags permitted."
            if mailbox.can_create_keywords:
                permanent = Atom(permanent[:-1] + " \\*)")  # last, as Dovecot writes it
        return response(None, Atom("FLAGS"), flags) + status_response(
            None, "OK", text, [Atom("PERMANENTFLAGS"), permanent]
        )

    def announce_keywords(self) -> bytes:
        """`flags_response()` if the folder has keywords this client has not been told
        of, else nothing: call it before sending FETCH FLAGS (RFC 3501 §7.2.6).

        A folder's keywords are only ever added to, so the messages of any snapshot
        taken before this call carry none that the folder does not list now."""
        if self.announced.issuperset(self.mailbox.keywords):
            return b""
        return self.flags_response()

    def mark_reported(self, messages: Sequence[MessageInfo], *, before: int | None = None) -> None:
        """This session has just sent these messages' flags (its own STORE).

        `before`: the mailbox's HIGHESTMODSEQ just before the change. When this
        session had seen everything up to it and the change took the very next
        modseq, nothing else changed in between: the session is simply up to date,
        and the next update need not look through the whole mailbox for changes.
        """
        if (
            messages
            and before is not None
            and self.known_modseq >= before
            and max(m.modseq for m in messages) == before + 1
        ):
            self.known_modseq = before + 1
            return
        for message in messages:
            self._own[message.uid] = message.modseq

    async def updates(
        self,
        *,
        expunges: bool,
        qresync: bool,
        condstore: bool,
        rev2: bool = False,
        flags: bool = True,
    ) -> bytes:
        """The untagged responses that bring this client up to date (may be empty).
        `flags` False: flag changes are not told (NOTIFY without FlagChange, RFC 5465)."""
        await self.mailbox.sync()
        snapshot = self.mailbox.snapshot
        out: list[bytes] = [self.announce_keywords()]
        current = snapshot.uids
        if expunges:
            gone = self._gone(current)
            if gone:
                if self.search_updates is not None:
                    out.append(self.search_updates.expunging(self, gone))
                if qresync:
                    out.append(f"* VANISHED {format_set(gone)}\r\n".encode())
                    gone_set = set(gone)
                    self.uids = array(
                        self.uids.typecode, (u for u in self.uids if u not in gone_set)
                    )
                else:
                    for uid in reversed(gone):
                        number = self.sequence_of(uid)
                        if number is not None:
                            out.append(f"* {number} EXPUNGE\r\n".encode())
                            del self.uids[number - 1]
                for uid in gone:
                    self.recent.discard(uid)
                    self._own.pop(uid, None)
        known_last = self.uids[-1] if self.uids else 0
        start = bisect_left(current, known_last + 1)
        added = current[start:]
        if snapshot.highestmodseq > self.known_modseq:
            if flags:
                out.extend(self._flag_changes(snapshot.messages[:start], condstore))
            else:
                self._own.clear()
            self.known_modseq = snapshot.highestmodseq
        if added:
            self.uids.extend(added)
            out.append(f"* {len(self.uids)} EXISTS\r\n".encode())
            await self.take_recent(added[0], added[-1])
            if not rev2:  # RFC 9051 §7.3.2: no RECENT (nor \\Recent) in IMAP4rev2
                out.append(f"* {len(self.recent)} RECENT\r\n".encode())
        if self.search_updates is not None:
            out.append(await self.search_updates.changed(self))
        return b"".join(out)

    def _gone(self, current: array[int]) -> list[int]:
        """UIDs this view knows that the mailbox no longer has, ascending."""
        if len(current) >= len(self.uids) and self._same_prefix(current):
            return []
        present = set(current)
        return [uid for uid in self.uids if uid not in present]

    def _same_prefix(self, current: array[int]) -> bool:
        if not self.uids:
            return True
        last = self.uids[-1]
        end = bisect_left(current, last + 1)
        if end != len(self.uids):
            return False
        # The octets, not the arrays: comparing arrays makes an int of every element.
        return current.typecode == self.uids.typecode and (
            current[:end].tobytes() == self.uids.tobytes()
        )

    def _flag_changes(self, messages: Iterable[MessageInfo], condstore: bool) -> list[bytes]:
        out = []
        for message in messages:
            if message.modseq <= self.known_modseq:
                continue
            if self._own.pop(message.uid, None) == message.modseq:
                continue
            number = self.sequence_of(message.uid)
            if number is None:
                continue
            items: list[object] = [Atom("UID"), message.uid, Atom("FLAGS"), self.flags(message)]
            if condstore:
                items += [Atom("MODSEQ"), [message.modseq]]
            out.append(f"* {number} FETCH ".encode() + serialize(items) + b"\r\n")  # type: ignore[arg-type]
        return out

    def is_recent(self, uid: int) -> bool:
        """Whether to show \\Recent on this message in this session."""
        return self.show_recent and uid in self.recent

    def flags(self, message: MessageInfo) -> Atom:
        """The message's flags as this session shows them (with its own \\Recent)."""
        if self.show_recent and message.uid in self.recent:
            return format_flags([*message.flags, "\\Recent"])
        return format_flags(message.flags)


def selected_view(selected: SelectedView | None) -> SelectedView:
    """The session's selected mailbox; NO when there is none."""
    if selected is None:
        raise responses.NO_MAILBOX_SELECTED
    return selected


def writable_view(selected: SelectedView | None) -> SelectedView:
    """The selected mailbox, if it may be changed (SELECT, not EXAMINE); NO otherwise."""
    view = selected_view(selected)
    if view.readonly:
        raise responses.READ_ONLY
    return view


def resolve(view: SelectedView, numbers: SequenceSet, *, uid: bool) -> list[int]:
    """The UIDs of a sequence set; BAD for sequence numbers past the last message."""
    if not uid and view.out_of_range(numbers):
        raise responses.bad("Error in IMAP command: Invalid messageset")
    return view.uids_of(numbers, uid=uid)


def numbered(view: SelectedView, uids: list[int]) -> tuple[Sequence[int], Sequence[MessageInfo]]:
    """The sequence numbers and the messages of those of `uids` (ascending) that the
    mailbox still has, as two sequences of the same length, merging sorted lists
    instead of searching each one from the start.

    Two sequences rather than pairs: for the usual `1:*` on an up-to-date view they are a
    range and the snapshot's own tuple, and nothing is made per message (10,000 pairs
    cost FETCH FLAGS more in garbage collection than in making them).
    """
    snapshot = view.mailbox.snapshot
    messages, present = snapshot.messages, snapshot.uids
    known = view.uids
    if len(uids) == len(known) == len(present) and (
        known is present or known.tobytes() == present.tobytes()
    ):
        # (Comparing the arrays themselves would make an int of every element.)
        return range(1, len(messages) + 1), messages
    numbers: list[int] = []
    found: list[MessageInfo] = []
    i = j = 0
    for uid in uids:
        # Bisection from where the last one was found: a few messages near the end of
        # the mailbox (the usual FETCH) cost no walk over all those before them.
        j = bisect_left(known, uid, j)
        if j >= len(known) or known[j] != uid:
            continue
        i = bisect_left(present, uid, i)
        if i < len(present) and present[i] == uid:
            numbers.append(j + 1)
            found.append(messages[i])
    return numbers, found
