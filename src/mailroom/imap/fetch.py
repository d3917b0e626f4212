"""FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 7162 CHANGEDSINCE,
VANISHED, MODSEQ): which messages, in which batches, and the fast paths.

What comes from the shared mailbox state (FLAGS, UID, RFC822.SIZE, INTERNALDATE,
MODSEQ) costs no disk access; ENVELOPE and BODYSTRUCTURE are kept in the mailbox's
index once computed; body sections read the message file. How each item is written
is fetch_writers.py's. Responses are written as they are made, and the connection
drained now and then, so a FETCH of a whole mailbox never sits in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mailroom.imap import responses
from mailroom.imap.commands import Command, Fetch
from mailroom.imap.context import SessionContext
from mailroom.imap.fetch_items import Attribute, FetchAttribute, FetchItem
from mailroom.imap.fetch_writers import (
    STATE_ITEMS,
    STRUCTURES,
    Cached,
    Writer,
    fetch_one,
    flag_list,
    flags_text,
    needs_message,
    state_item,
    writers_for,
)
from mailroom.imap.selected import SelectedView, numbered, resolve, selected_view
from mailroom.imap.sequence import format_set
from mailroom.store import MESSAGE_VALUES, MessageInfo

DRAIN_EVERY = 256 * 1024
"""Octets written between waits for the client to read them."""
WRITE_CHUNK = 64 * 1024
"""Responses are gathered into writes of about this size."""
READ_BATCH = 64
"""Messages read from disk in one trip to a store thread (body sections)."""
READ_BATCH_BYTES = 4 * 1024 * 1024
"""And at most this many bytes of them (unless one message alone is larger): two
batches are in memory at a time, the one sent and the one read ahead."""
CACHE_BATCH = 1000
"""Messages whose cached ENVELOPE/BODYSTRUCTURE are looked up in one trip."""


async def fetch(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Fetch)
    args = command.args
    view = selected_view(session.selected)
    uids = resolve(view, args.sequence, uid=command.uid)
    items = _items_asked(command, args)
    if args.changed_since is not None or FetchAttribute(Attribute.MODSEQ) in items:
        session.enable_condstore()  # RFC 7162 §3.1: these enable CONDSTORE
    if args.vanished:
        _report_vanished(session, view, command, uids)
    numbers, messages = numbered(view, uids)
    # Messages this session still knows of that another one has expunged:
    expunged = len(messages) < len(uids)
    if args.changed_since is not None:
        kept = [k for k, m in enumerate(messages) if m.modseq > args.changed_since]
        numbers, messages = [numbers[k] for k in kept], [messages[k] for k in kept]
    plan = _Plan.of(session, view, items, changed_since=args.changed_since)
    if not view.readonly and any(i.sets_seen for i in items):
        plan.seen_now = await _mark_seen(view, messages)
    output = await _write_responses(session, plan, numbers, messages, items)
    if output.expunged or expunged:
        # As Dovecot: the messages that still exist are sent, and the client told why
        # some are missing (RFC 9051 §7.1 EXPUNGEISSUED).
        await session.tagged_ok(command, "Some messages were already expunged.", "EXPUNGEISSUED")
        return
    await session.tagged_ok(command, "Fetch completed.")


async def fetch_responses(
    session: SessionContext, view: SelectedView, uids: list[int], items: Sequence[FetchItem]
) -> None:
    """The FETCH responses of these messages (ascending UIDs in the view), as a FETCH of
    them would write them: NOTIFY's MessageNew (RFC 5465 §5.2). Items that set \\Seen
    are not given here (notify_arguments.py refuses them)."""
    numbers, messages = numbered(view, uids)
    plan = _Plan.of(session, view, list(items), changed_since=None)
    await _write_responses(session, plan, numbers, messages, list(items))


async def _write_responses(
    session: SessionContext,
    plan: _Plan,
    numbers: Sequence[int],
    messages: Sequence[MessageInfo],
    items: list[FetchItem],
) -> _Output:
    announcement = plan.view.announce_keywords()  # before a FLAGS showing a new keyword
    if announcement:
        session.write(announcement)
    output = _Output(session)
    if not plan.structures and not plan.needs_message and not plan.seen_now:
        await _fetch_metadata(output, plan.view, numbers, messages, items, plan.with_modseq)
    else:
        await _fetch_batches(plan, output, numbers, messages)
    await output.flush()
    return output


def _items_asked(command: Command, args: Fetch) -> list[FetchItem]:
    """The items to send: those asked, and UID first for UID FETCH (RFC 9051 §6.4.9)."""
    items = list(args.items)
    if command.uid and FetchAttribute(Attribute.UID) not in items:
        items.insert(0, FetchAttribute(Attribute.UID))
    return items


def _report_vanished(
    session: SessionContext, view: SelectedView, command: Command, uids: list[int]
) -> None:
    """RFC 7162 §3.2.6: `* VANISHED (EARLIER)` for the UIDs of the set expunged since
    CHANGEDSINCE that the client asked about."""
    assert isinstance(command.args, Fetch)
    args = command.args
    if not command.uid or not session.qresync:
        raise responses.bad("VANISHED needs UID FETCH and QRESYNC enabled.")
    if args.changed_since is None:
        raise responses.bad("VANISHED needs CHANGEDSINCE.")
    wanted = set(uids)
    vanished = [
        u
        for u in view.mailbox.vanished_since(args.changed_since)
        if args.sequence.contains(u, view.mailbox.uidnext) and u not in wanted
    ]
    if vanished:
        session.write(f"* VANISHED (EARLIER) {format_set(vanished)}\r\n".encode())


async def _mark_seen(view: SelectedView, messages: Sequence[MessageInfo]) -> dict[int, MessageInfo]:
    """BODY[] and the like set \\Seen (RFC 9051 §6.4.5): one change for the whole
    command, not one per message. The messages changed, by UID."""
    unseen = [m.uid for m in messages if "\\Seen" not in m.flags]
    if not unseen:
        return {}
    changed, _ = await view.mailbox.store_flags(unseen, "add", ["\\Seen"])
    view.mark_reported(changed)
    return {m.uid: m for m in changed}


@dataclass
class _Plan:
    """What one FETCH writes for each message, decided once for the command."""

    view: SelectedView
    writers: list[Writer]
    cached: Cached
    """The current batch's ENVELOPE/BODYSTRUCTURE/BODY values (the writers read it)."""
    structures: list[tuple[Attribute, str, Callable[[bytes], bytes]]]
    """The index items asked: attribute, field in the index, how to compute it."""
    needs_message: bool
    with_modseq: bool
    """MODSEQ goes with every response (CONDSTORE and CHANGEDSINCE or FLAGS asked)."""
    asks_flags: bool
    seen_modseq: bool
    """A \\Seen set by this FETCH is reported with its MODSEQ (RFC 7162 §3.1)."""
    seen_now: dict[int, MessageInfo]

    @classmethod
    def of(
        cls,
        session: SessionContext,
        view: SelectedView,
        items: list[FetchItem],
        *,
        changed_since: int | None,
    ) -> _Plan:
        asks_flags = FetchAttribute(Attribute.FLAGS) in items
        asks_modseq = FetchAttribute(Attribute.MODSEQ) in items
        with_modseq = session.condstore and (changed_since is not None or asks_flags)
        cached: Cached = {}
        structures = [
            (item.attribute, *STRUCTURES[item.attribute])
            for item in items
            if isinstance(item, FetchAttribute) and item.attribute in STRUCTURES
        ]
        needs_body = any(needs_message(i) for i in items)
        # Items the mailbox state answers alone are written by `_fetch_metadata`, which
        # needs no writers (the most frequent FETCH: choosing them cost more than it).
        writers = (
            writers_for(view, items, cached, with_modseq=with_modseq, utf8=session.utf8)
            if structures or needs_body
            else []
        )
        return cls(
            view=view,
            writers=writers,
            cached=cached,
            structures=structures,
            needs_message=needs_body,
            with_modseq=with_modseq,
            asks_flags=asks_flags,
            seen_modseq=session.condstore and not with_modseq and not asks_modseq,
            seen_now={},
        )


async def _fetch_batches(
    plan: _Plan, output: _Output, numbers: Sequence[int], messages: Sequence[MessageInfo]
) -> None:
    """The responses of messages whose index values or bodies are read, a batch at a
    time; the next batch is read while this one is formatted and sent."""
    mailbox = plan.view.mailbox
    structures = plan.structures
    needs_body = plan.needs_message

    async def load(chunk: Sequence[MessageInfo]) -> tuple[Cached, dict[int, bytes]]:
        # One trip to a store thread per batch, not one per message and item; none for
        # the values the process holds in memory already (store/message_cache.py).
        chunk_uids = [m.uid for m in chunk]
        values = {}
        snapshot = mailbox.snapshot
        # As the index's answer leaves out messages expunged meanwhile, so does this one.
        present = [m for m in chunk if snapshot.position(m.uid) is not None]
        for attribute, field, compute in structures:
            known, missing = MESSAGE_VALUES.known(field, present)
            if missing:
                found = await mailbox.cached_many([m.uid for m in missing], field, compute)
                MESSAGE_VALUES.remember(field, missing, found)
                known.update(found)
            values[attribute] = known
        return values, (await mailbox.read_many(chunk_uids) if needs_body else {})

    ranges = batches(
        messages,
        READ_BATCH if needs_body else CACHE_BATCH,
        READ_BATCH_BYTES if needs_body else None,
    )
    loading = asyncio.ensure_future(load(messages[slice(*ranges[0])])) if ranges else None
    try:
        for index, (start, end) in enumerate(ranges):
            assert loading is not None
            values, bodies = await loading
            loading = None
            if index + 1 < len(ranges):
                loading = asyncio.ensure_future(load(messages[slice(*ranges[index + 1])]))
            plan.cached.update(values)
            await _respond(plan, output, numbers[start:end], messages[start:end], bodies)
    finally:
        if loading is not None:  # the command failed: the batch read ahead is not wanted
            loading.cancel()
            loading.add_done_callback(_drop_outcome)


def batches(
    messages: Sequence[MessageInfo], count: int, max_bytes: int | None
) -> list[tuple[int, int]]:
    """(start, end) of each batch: at most `count` messages, and (with `max_bytes`) no
    more bytes than that unless one message alone is larger."""
    ranges = []
    start = 0
    while start < len(messages):
        end = min(start + count, len(messages))
        if max_bytes is not None:
            size = messages[start].stored_size
            stop = start + 1
            while stop < end and size + messages[stop].stored_size <= max_bytes:
                size += messages[stop].stored_size
                stop += 1
            end = stop
        ranges.append((start, end))
        start = end
    return ranges


def _drop_outcome(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: no "never retrieved" warning for it


async def _respond(
    plan: _Plan,
    output: _Output,
    numbers: Sequence[int],
    messages: Sequence[MessageInfo],
    bodies: dict[int, bytes],
) -> None:
    """The responses for one batch of messages, whose bodies and cached values are read."""
    # The plan's fields as locals: looked up once per batch, not once per message.
    view, writers, cached, seen_now = plan.view, plan.writers, plan.cached, plan.seen_now
    needs_body, asks_flags, seen_modseq = plan.needs_message, plan.asks_flags, plan.seen_modseq
    for number, message in zip(numbers, messages, strict=True):
        uid = message.uid
        if (needs_body and uid not in bodies) or (
            cached and any(uid not in values for values in cached.values())
        ):
            output.expunged = True  # by another session or process, since the batch began
            continue
        extra_flags = uid in seen_now
        message = seen_now.get(uid, message)
        pieces = fetch_one(message, bodies.pop(uid, None), writers)
        if extra_flags and not asks_flags:
            # RFC 9051 §6.4.5: the \Seen that BODY[] set is reported; with CONDSTORE
            # its new mod-sequence too (RFC 7162 §3.1).
            pieces.append(b" FLAGS " + flags_text(message.flags, view.is_recent(uid)))
            if seen_modseq:
                pieces.append(b" MODSEQ (%d)" % message.modseq)
        await output.fetch_response(number, pieces)


async def _fetch_metadata(
    output: _Output,
    view: SelectedView,
    numbers: Sequence[int],
    messages: Sequence[MessageInfo],
    items: list[FetchItem],
    with_modseq: bool,
) -> None:
    """FETCH of items the mailbox state answers alone, a batch of lines at a time."""
    attributes = []
    for item in items:
        assert isinstance(item, FetchAttribute) and item.attribute in STATE_ITEMS
        attributes.append(item.attribute)
    if with_modseq and Attribute.MODSEQ not in attributes:
        attributes.append(Attribute.MODSEQ)
    if attributes == [Attribute.FLAGS]:
        await _fetch_flags(output, view, numbers, messages)
        return
    state_items = [state_item(view, attribute) for attribute in attributes]
    line = b"* %%d FETCH (%s)\r\n" % b" ".join(item.form for item in state_items)
    for start in range(0, len(messages), CACHE_BATCH):
        end = start + CACHE_BATCH
        chunk = messages[start:end]
        columns = [map(item.value, chunk) for item in state_items]
        lines = [line % values for values in zip(numbers[start:end], *columns, strict=True)]
        await output.raw(b"".join(lines))


class _FlagLists(dict[frozenset[str], str]):
    """The flag list of each flag set met in one command: flag sets are shared between
    messages (store/flags.py), so nearly every lookup hits."""

    def __init__(self, recent: bool) -> None:
        super().__init__()
        self.recent = recent

    def __missing__(self, flags: frozenset[str]) -> str:
        text = self[flags] = flag_list(flags, self.recent)
        return text


async def _fetch_flags(
    output: _Output,
    view: SelectedView,
    numbers: Sequence[int],
    messages: Sequence[MessageInfo],
) -> None:
    """`FETCH 1:* (FLAGS)`, how clients resynchronise a mailbox: the most frequent FETCH,
    over whole mailboxes, so with the least work per message (an f-string, two lookups;
    measured faster than calling a function per item, or formatting bytes with %)."""
    lists = (_FlagLists(recent=False), _FlagLists(recent=True))  # by `uid in recent`
    recent = view.recent if view.show_recent else set()
    for start in range(0, len(messages), CACHE_BATCH):
        end = start + CACHE_BATCH
        lines = [
            f"* {number} FETCH (FLAGS {lists[m.uid in recent][m.flags]})\r\n"
            for number, m in zip(numbers[start:end], messages[start:end], strict=True)
        ]
        await output.raw("".join(lines).encode())


class _Output:
    """FETCH responses gathered into large writes: one write per response would cost a
    system call each (and the client a read each)."""

    def __init__(self, session: SessionContext) -> None:
        self.session = session
        self.pending: list[bytes] = []
        self.size = 0
        self.since_drain = 0
        self.expunged = False
        """A message was left out: expunged since its batch was chosen."""

    async def fetch_response(self, number: int, pieces: list[bytes]) -> None:
        """`* number FETCH (…)` around pieces already separated by SP."""
        self.pending.append(b"* %d FETCH (" % number)
        self.pending.extend(pieces)
        self.pending.append(b")\r\n")
        self.size += sum(map(len, pieces)) + 20
        if self.size >= WRITE_CHUNK:
            await self.flush()

    async def raw(self, data: bytes) -> None:
        """Whole response lines made elsewhere."""
        await self.flush()
        self.session.write(data)
        self.since_drain += len(data)
        if self.since_drain >= DRAIN_EVERY:
            self.since_drain = 0
            await self.session.drain()

    async def flush(self) -> None:
        if self.pending:
            self.session.write(b"".join(self.pending))
            self.since_drain += self.size
            self.pending.clear()
            self.size = 0
        if self.since_drain >= DRAIN_EVERY:
            self.since_drain = 0
            await self.session.drain()
