"""FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 7162 CHANGEDSINCE,
VANISHED, MODSEQ).

What comes from the shared mailbox state (FLAGS, UID, RFC822.SIZE, INTERNALDATE,
MODSEQ) costs no disk access; ENVELOPE and BODYSTRUCTURE are kept in the mailbox's
index once computed; body sections read the message file. Responses are written
as they are made, and the connection drained now and then, so a FETCH of a whole
mailbox never sits in memory.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple

from mailroom.imap import responses
from mailroom.imap.bodystructure import body_structure_bytes
from mailroom.imap.commands import Command, Fetch
from mailroom.imap.context import SessionContext
from mailroom.imap.envelope import envelope_bytes
from mailroom.imap.fetch_items import (
    Attribute,
    BinarySection,
    BinarySize,
    BodySection,
    FetchAttribute,
    FetchItem,
)
from mailroom.imap.sections import (
    Partial,
    Section,
    SectionText,
    UnknownTransferEncoding,
    apply_partial,
    binary_data,
    section_data,
)
from mailroom.imap.selected import SelectedView, numbered, resolve, selected_view
from mailroom.imap.sequence import format_set
from mailroom.imap.wire import Literal8, format_flags, serialize, string_pieces
from mailroom.message import MessagePart, parse_message
from mailroom.store import MessageInfo

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
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HEADER = Section(text=SectionText.HEADER)
TEXT = Section(text=SectionText.TEXT)
WHOLE = Section()


def internal_date(value: datetime.datetime) -> bytes:
    """RFC 9051 date-time: `"25-Nov-2026 15:17:51 +0000"`."""
    offset = value.utcoffset() or datetime.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f'"{value.day:02d}-{MONTHS[value.month - 1]}-{value.year:04d} '
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} "
        f'{sign}{minutes // 60:02d}{minutes % 60:02d}"'
    ).encode()


@lru_cache(maxsize=1024)
def _flag_list(flags: frozenset[str], recent: bool) -> str:
    return format_flags([*flags, "\\Recent"] if recent else flags)


@lru_cache(maxsize=1024)
def _flags_text(flags: frozenset[str], recent: bool) -> bytes:
    return _flag_list(flags, recent).encode()


def _needs_message(item: FetchItem) -> bool:
    if isinstance(item, FetchAttribute):
        return item.attribute in (
            Attribute.RFC822,
            Attribute.RFC822_HEADER,
            Attribute.RFC822_TEXT,
        )
    return True


class _Message:
    """One message's octets and parsed structure, read at most once per FETCH."""

    __slots__ = ("_part", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._part: MessagePart | None = None

    @property
    def part(self) -> MessagePart:
        if self._part is None:
            self._part = parse_message(self.data)
        return self._part

    def section(self, section: Section) -> bytes:
        if section == WHOLE:
            return self.data  # BODY[]: no need to parse the structure
        return section_data(self.data, self.part, section)


async def fetch(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Fetch)
    args = command.args
    view = selected_view(session.selected)
    uids = resolve(view, args.sequence, uid=command.uid)
    items = list(args.items)
    if command.uid and not any(
        isinstance(i, FetchAttribute) and i.attribute is Attribute.UID for i in items
    ):
        items.insert(0, FetchAttribute(Attribute.UID))
    if args.changed_since is not None or any(
        isinstance(i, FetchAttribute) and i.attribute is Attribute.MODSEQ for i in items
    ):
        session.enabled.add("CONDSTORE")  # RFC 7162 §3.1: these enable CONDSTORE
    if args.vanished:
        if not command.uid or not session.qresync:
            raise responses.bad("VANISHED needs UID FETCH and QRESYNC enabled.")
        if args.changed_since is None:
            raise responses.bad("VANISHED needs CHANGEDSINCE.")
        wanted = set(uids)
        vanished = [
            u
            for u in view.mailbox.vanished_since(args.changed_since)
            if args.sequence.contains(u, view.mailbox.uidnext)
        ]
        vanished = [u for u in vanished if u not in wanted]
        if vanished:
            session.write(f"* VANISHED (EARLIER) {format_set(vanished)}\r\n".encode())
    asks_flags = FetchAttribute(Attribute.FLAGS) in items
    asks_modseq = FetchAttribute(Attribute.MODSEQ) in items
    with_modseq = session.condstore and (args.changed_since is not None or asks_flags)
    sets_seen = not view.readonly and any(i.sets_seen for i in items)
    needs_message = any(_needs_message(i) for i in items)
    numbers, messages = numbered(view, uids)
    # Messages this session still knows of that another one has expunged:
    expunged = len(messages) < len(uids)
    if args.changed_since is not None:
        kept = [k for k, m in enumerate(messages) if m.modseq > args.changed_since]
        numbers, messages = [numbers[k] for k in kept], [messages[k] for k in kept]
    seen_now: dict[int, MessageInfo] = {}
    if sets_seen:
        unseen = [m.uid for m in messages if "\\Seen" not in m.flags]
        if unseen:  # one change for the whole command, not one per message
            changed, _ = await view.mailbox.store_flags(unseen, "add", ["\\Seen"])
            view.mark_reported(changed)
            seen_now = {m.uid: m for m in changed}
    structures = [
        (item.attribute, *STRUCTURES[item.attribute])
        for item in items
        if isinstance(item, FetchAttribute) and item.attribute in STRUCTURES
    ]
    output = _Output(session)
    if not structures and not needs_message and not seen_now:
        await _fetch_metadata(output, view, numbers, messages, items, with_modseq)
        numbers, messages = (), ()
    cached: dict[Attribute, dict[int, bytes]] = {}
    writers = _writers(session, view, items, cached, with_modseq)
    batch = READ_BATCH if needs_message else CACHE_BATCH

    async def load(chunk: Sequence[MessageInfo]) -> tuple[_Cached, dict[int, bytes]]:
        # One trip to a store thread per batch, not one per message and item.
        chunk_uids = [m.uid for m in chunk]
        values = {
            attribute: await view.mailbox.cached_many(chunk_uids, field, compute)
            for attribute, field, compute in structures
        }
        return values, (await view.mailbox.read_many(chunk_uids) if needs_message else {})

    # The next batch is read while this one is formatted and sent.
    ranges = batches(messages, batch, READ_BATCH_BYTES if needs_message else None)
    loading = asyncio.ensure_future(load(messages[slice(*ranges[0])])) if ranges else None
    try:
        for index, (start, end) in enumerate(ranges):
            assert loading is not None
            values, bodies = await loading
            loading = None
            if index + 1 < len(ranges):
                loading = asyncio.ensure_future(load(messages[slice(*ranges[index + 1])]))
            cached.update(values)
            await _respond(
                session,
                output,
                view,
                writers,
                numbers[start:end],
                messages[start:end],
                bodies,
                cached,
                seen_now,
                asks_flags=asks_flags,
                asks_modseq=asks_modseq,
                with_modseq=with_modseq,
                needs_message=needs_message,
            )
    finally:
        if loading is not None:  # the command failed: the batch read ahead is not wanted
            loading.cancel()
            loading.add_done_callback(_drop_outcome)
    await output.flush()
    if output.expunged or expunged:
        # As Dovecot: the messages that still exist are sent, and the client told why
        # some are missing (RFC 9051 §7.1 EXPUNGEISSUED).
        await session.tagged_ok(command, "Some messages were already expunged.", "EXPUNGEISSUED")
        return
    await session.tagged_ok(command, "Fetch completed.")


_Cached = dict[Attribute, dict[int, bytes]]


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
    session: SessionContext,
    output: _Output,
    view: SelectedView,
    writers: list[Writer],
    numbers: Sequence[int],
    messages: Sequence[MessageInfo],
    bodies: dict[int, bytes],
    cached: _Cached,
    seen_now: dict[int, MessageInfo],
    *,
    asks_flags: bool,
    asks_modseq: bool,
    with_modseq: bool,
    needs_message: bool,
) -> None:
    """The responses for one batch of messages, whose bodies and cached values are read."""
    for number, message in zip(numbers, messages, strict=True):
        uid = message.uid
        if (needs_message and uid not in bodies) or (
            cached and any(uid not in values for values in cached.values())
        ):
            output.expunged = True  # by another session or process, since the batch began
            continue
        extra_flags = uid in seen_now
        message = seen_now.get(uid, message)
        pieces = _fetch_one(message, bodies.pop(uid, None), writers)
        if extra_flags and not asks_flags:
            # RFC 9051 §6.4.5: the \Seen that BODY[] set is reported; with CONDSTORE
            # its new mod-sequence too (RFC 7162 §3.1).
            pieces.append(b" FLAGS " + _flags_text(message.flags, view.is_recent(uid)))
            if session.condstore and not with_modseq and not asks_modseq:
                pieces.append(b" MODSEQ (%d)" % message.modseq)
        await output.fetch_response(number, pieces)


Writer = Callable[[MessageInfo, "_Message | None", list[bytes]], None]
"""Appends one data item of one message's FETCH response to a list of pieces."""


def _fetch_one(message: MessageInfo, body: bytes | None, writers: list[Writer]) -> list[bytes]:
    """The data items of one message's FETCH response, in the order asked, as pieces to
    write one after the other (SP-separated already)."""
    loaded = _Message(body) if body is not None else None
    out: list[bytes] = []
    for index, write in enumerate(writers):
        if index:
            out.append(b" ")
        write(message, loaded, out)
    return out


def _writers(
    session: SessionContext,
    view: SelectedView,
    items: list[FetchItem],
    cached: dict[Attribute, dict[int, bytes]],
    with_modseq: bool,
) -> list[Writer]:
    """One writer per item, chosen once per command rather than once per message and
    item. `cached` holds the current batch's ENVELOPE/BODYSTRUCTURE values."""
    writers = [_writer(session, view, item, cached) for item in items]
    if with_modseq and FetchAttribute(Attribute.MODSEQ) not in items:
        writers.append(_from_state(_state_item(view, Attribute.MODSEQ)))
    return writers


def _writer(
    session: SessionContext,
    view: SelectedView,
    item: FetchItem,
    cached: dict[Attribute, dict[int, bytes]],
) -> Writer:
    if isinstance(item, BodySection):
        return _section_writer(item.response_name, item.section, item.partial, session.utf8)
    if isinstance(item, BinarySection | BinarySize):
        return _binary_writer(item)
    attribute = item.attribute
    if attribute in STATE_ITEMS:
        return _from_state(_state_item(view, attribute))
    if attribute in STRUCTURES:
        name = attribute.value.encode() + b" "

        def structure(message: MessageInfo, loaded: _Message | None, out: list[bytes]) -> None:
            out.append(name)
            out.append(cached[attribute][message.uid])

        return structure
    section = {
        Attribute.RFC822: WHOLE,
        Attribute.RFC822_HEADER: HEADER,
        Attribute.RFC822_TEXT: TEXT,
    }[attribute]
    return _section_writer(attribute.value, section, None, session.utf8)


def _from_state(item: _StateItem) -> Writer:
    form, value = item

    def write(message: MessageInfo, loaded: _Message | None, out: list[bytes]) -> None:
        out.append(form % value(message))

    return write


def _section_writer(name: str, section: Section, partial: Partial | None, utf8: bool) -> Writer:
    """BODY[section]<partial>, RFC822, RFC822.HEADER, RFC822.TEXT: the octets as a
    string (a literal, for any real message), written without copying them."""
    prefix = name.encode() + b" "
    whole = section == WHOLE and partial is None

    def write(message: MessageInfo, loaded: _Message | None, out: list[bytes]) -> None:
        assert loaded is not None
        data = loaded.data if whole else apply_partial(loaded.section(section), partial)
        out.append(prefix)
        out.extend(string_pieces(data, utf8=utf8))

    return write


def _binary_writer(item: BinarySection | BinarySize) -> Writer:
    """BINARY[part]<partial> and BINARY.SIZE[part] (RFC 3516)."""
    name = item.response_name.encode()
    section = Section(part=item.part)

    def write(message: MessageInfo, loaded: _Message | None, out: list[bytes]) -> None:
        assert loaded is not None
        try:
            data = binary_data(loaded.data, loaded.part, section)
        except UnknownTransferEncoding:
            raise responses.no("Unknown Content-Transfer-Encoding.", "UNKNOWN-CTE") from None
        if isinstance(item, BinarySize):
            out.append(name + b" %d" % len(data))
            return
        data = apply_partial(data, item.partial)
        value = serialize(Literal8(data)) if b"\x00" in data else serialize(data)
        out.append(name + b" " + value)

    return write


class _StateItem(NamedTuple):
    """An item the mailbox state answers alone (FLAGS, UID, RFC822.SIZE, INTERNALDATE,
    MODSEQ): `form % value(message)`."""

    form: bytes
    value: Callable[[MessageInfo], object]


STATE_ITEMS = (
    Attribute.FLAGS,
    Attribute.UID,
    Attribute.RFC822_SIZE,
    Attribute.INTERNALDATE,
    Attribute.MODSEQ,
)


def _state_item(view: SelectedView, attribute: Attribute) -> _StateItem:
    if attribute is Attribute.FLAGS:
        if not view.show_recent or not view.recent:
            return _StateItem(b"FLAGS %s", lambda m: _flags_text(m.flags, False))
        recent = view.recent
        return _StateItem(b"FLAGS %s", lambda m: _flags_text(m.flags, m.uid in recent))
    if attribute is Attribute.INTERNALDATE:
        return _StateItem(b"INTERNALDATE %s", lambda m: internal_date(m.internaldate))
    return {
        Attribute.UID: _StateItem(b"UID %d", attrgetter("uid")),
        Attribute.RFC822_SIZE: _StateItem(b"RFC822.SIZE %d", attrgetter("size")),
        Attribute.MODSEQ: _StateItem(b"MODSEQ (%d)", attrgetter("modseq")),
    }[attribute]


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
    state_items = [_state_item(view, attribute) for attribute in attributes]
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
        text = self[flags] = _flag_list(flags, self.recent)
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


def _envelope(data: bytes) -> bytes:
    return envelope_bytes(parse_message(data))


def _bodystructure(data: bytes) -> bytes:
    return body_structure_bytes(parse_message(data), True)


def _body(data: bytes) -> bytes:
    return body_structure_bytes(parse_message(data), False)


STRUCTURES: dict[Attribute, tuple[str, Callable[[bytes], bytes]]] = {
    Attribute.ENVELOPE: ("envelope", _envelope),
    Attribute.BODYSTRUCTURE: ("bodystructure", _bodystructure),
    Attribute.BODY: ("body", _body),
}
"""Items computed from the message once and kept in the mailbox's index."""
