"""FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 7162 CHANGEDSINCE,
VANISHED, MODSEQ).

What comes from the shared mailbox state (FLAGS, UID, RFC822.SIZE, INTERNALDATE,
MODSEQ) costs no disk access; ENVELOPE and BODYSTRUCTURE are kept in the mailbox's
index once computed; body sections read the message file. Responses are written
as they are made, and the connection drained now and then, so a FETCH of a whole
mailbox never sits in memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from mailroom.imap import responses
from mailroom.imap.bodystructure import body_structure_bytes
from mailroom.imap.commands import Command, Fetch
from mailroom.imap.envelope import envelope_bytes
from mailroom.imap.fetch_items import (
    Attribute,
    BinarySection,
    BinarySize,
    BodySection,
    FetchAttribute,
    FetchItem,
)
from mailroom.imap.message_commands import resolve, selected_view
from mailroom.imap.sections import (
    Section,
    SectionText,
    UnknownTransferEncoding,
    apply_partial,
    binary_data,
    section_data,
)
from mailroom.imap.selected import SelectedView
from mailroom.imap.sequence import format_set
from mailroom.imap.wire import Literal8, serialize
from mailroom.message import MessagePart, parse_message
from mailroom.store import MessageInfo

if TYPE_CHECKING:
    from mailroom.imap.session import ImapSession

DRAIN_EVERY = 256 * 1024
"""Octets written between waits for the client to read them."""
WRITE_CHUNK = 64 * 1024
"""Responses are gathered into writes of about this size."""
READ_BATCH = 64
"""Messages read from disk in one trip to a store thread (body sections)."""
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
def _flags_text(flags: frozenset[str], recent: bool) -> bytes:
    from mailroom.imap.wire import format_flags

    return format_flags([*flags, "\\Recent"] if recent else flags).encode()


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


def walk(view: SelectedView, uids: list[int]) -> Iterator[tuple[int, MessageInfo]]:
    """(sequence number, message) for each of `uids` (ascending) that the mailbox still
    has, merging sorted lists instead of searching each one."""
    snapshot = view.mailbox.snapshot
    messages, present = snapshot.messages, snapshot.uids
    known = view.uids
    if len(uids) == len(known) == len(present) and known == present:
        # The usual `1:*` on an up-to-date view: no merging needed.
        yield from enumerate(messages, 1)
        return
    i = j = 0
    for uid in uids:
        while j < len(known) and known[j] < uid:
            j += 1
        if j >= len(known) or known[j] != uid:
            continue
        while i < len(present) and present[i] < uid:
            i += 1
        if i < len(present) and present[i] == uid:
            yield j + 1, messages[i]


async def fetch(session: ImapSession, command: Command) -> None:
    assert isinstance(command.args, Fetch)
    args = command.args
    view = selected_view(session)
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
    present = list(walk(view, uids))
    # Messages this session still knows of that another one has expunged:
    expunged = len(present) < len(uids)
    if args.changed_since is not None:
        present = [(n, m) for n, m in present if m.modseq > args.changed_since]
    seen_now: dict[int, MessageInfo] = {}
    if sets_seen:
        unseen = [m.uid for _, m in present if "\\Seen" not in m.flags]
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
        await _fetch_metadata(output, view, present, items, with_modseq)
        present = []
    batch = READ_BATCH if needs_message else CACHE_BATCH
    for start in range(0, len(present), batch):
        chunk = present[start : start + batch]
        chunk_uids = [m.uid for _, m in chunk]
        # One trip to a store thread per batch, not one per message and item.
        cached = {
            attribute: await view.mailbox.cached_many(chunk_uids, field, compute)
            for attribute, field, compute in structures
        }
        bodies = await view.mailbox.read_many(chunk_uids) if needs_message else {}
        for number, message in chunk:
            uid = message.uid
            if (needs_message and uid not in bodies) or any(
                uid not in values for values in cached.values()
            ):
                expunged = True  # by another session or process, since the batch began
                continue
            extra_flags = uid in seen_now
            message = seen_now.get(uid, message)
            body = bodies.pop(uid, None)
            pieces = _fetch_one(session, view, message, items, body, cached, with_modseq)
            if extra_flags and not asks_flags:
                # RFC 9051 §6.4.5: the \Seen that BODY[] set is reported; with CONDSTORE
                # its new mod-sequence too (RFC 7162 §3.1).
                pieces.append(b"FLAGS " + _flags_text(message.flags, view.is_recent(uid)))
                if session.condstore and not with_modseq and not asks_modseq:
                    pieces.append(b"MODSEQ (%d)" % message.modseq)
            await output.fetch_response(number, pieces)
    await output.flush()
    if expunged:
        # As Dovecot: the messages that still exist are sent, and the client told why
        # some are missing (RFC 9051 §7.1 EXPUNGEISSUED).
        await session.tagged_ok(command, "Some messages were already expunged.", "EXPUNGEISSUED")
        return
    await session.tagged_ok(command, "Fetch completed.")


def _fetch_one(
    session: ImapSession,
    view: SelectedView,
    message: MessageInfo,
    items: list[FetchItem],
    body: bytes | None,
    cached: dict[Attribute, dict[int, bytes]],
    with_modseq: bool,
) -> list[bytes]:
    """The data items of one message's FETCH response, in the order asked."""
    loaded = _Message(body) if body is not None else None
    out: list[bytes] = []
    utf8 = session.utf8
    for item in items:
        if isinstance(item, FetchAttribute):
            attribute = item.attribute
            if attribute is Attribute.FLAGS:
                out.append(b"FLAGS " + _flags_text(message.flags, view.is_recent(message.uid)))
            elif attribute is Attribute.UID:
                out.append(b"UID %d" % message.uid)
            elif attribute is Attribute.RFC822_SIZE:
                out.append(b"RFC822.SIZE %d" % message.size)
            elif attribute is Attribute.INTERNALDATE:
                out.append(b"INTERNALDATE " + internal_date(message.internaldate))
            elif attribute is Attribute.MODSEQ:
                out.append(b"MODSEQ (%d)" % message.modseq)
            elif attribute in STRUCTURES:
                out.append(attribute.value.encode() + b" " + cached[attribute][message.uid])
            else:
                assert loaded is not None
                section = {
                    Attribute.RFC822: WHOLE,
                    Attribute.RFC822_HEADER: HEADER,
                    Attribute.RFC822_TEXT: TEXT,
                }[attribute]
                data = loaded.section(section)
                out.append(attribute.value.encode() + b" " + serialize(data, utf8=utf8))
        elif isinstance(item, BodySection):
            assert loaded is not None
            data = apply_partial(loaded.section(item.section), item.partial)
            out.append(item.response_name.encode() + b" " + serialize(data, utf8=utf8))
        elif isinstance(item, BinarySection | BinarySize):
            assert loaded is not None
            try:
                data = binary_data(loaded.data, loaded.part, Section(part=item.part))
            except UnknownTransferEncoding:
                raise responses.no("Unknown Content-Transfer-Encoding.", "UNKNOWN-CTE") from None
            if isinstance(item, BinarySize):
                out.append(item.response_name.encode() + b" %d" % len(data))
                continue
            data = apply_partial(data, item.partial)
            value = serialize(Literal8(data)) if b"\x00" in data else serialize(data)
            out.append(item.response_name.encode() + b" " + value)
    if with_modseq and not any(
        isinstance(i, FetchAttribute) and i.attribute is Attribute.MODSEQ for i in items
    ):
        out.append(b"MODSEQ (%d)" % message.modseq)
    return out


def _metadata_writer(
    view: SelectedView, items: list[FetchItem], with_modseq: bool
) -> Callable[[MessageInfo], bytes]:
    """For items the mailbox state answers alone (FLAGS, UID, sizes, dates, MODSEQ): one
    function per item, chosen once per command rather than once per message."""
    parts: list[Callable[[MessageInfo], bytes]] = []
    for item in items:
        assert isinstance(item, FetchAttribute)
        attribute = item.attribute
        if attribute is Attribute.FLAGS:
            parts.append(lambda m: b"FLAGS " + _flags_text(m.flags, view.is_recent(m.uid)))
        elif attribute is Attribute.UID:
            parts.append(lambda m: b"UID %d" % m.uid)
        elif attribute is Attribute.RFC822_SIZE:
            parts.append(lambda m: b"RFC822.SIZE %d" % m.size)
        elif attribute is Attribute.INTERNALDATE:
            parts.append(lambda m: b"INTERNALDATE " + internal_date(m.internaldate))
        elif attribute is Attribute.MODSEQ:
            parts.append(lambda m: b"MODSEQ (%d)" % m.modseq)
    if with_modseq and FetchAttribute(Attribute.MODSEQ) not in items:
        parts.append(lambda m: b"MODSEQ (%d)" % m.modseq)
    if len(parts) == 1:
        return parts[0]
    return lambda m: b" ".join(part(m) for part in parts)


async def _fetch_metadata(
    output: _Output,
    view: SelectedView,
    present: list[tuple[int, MessageInfo]],
    items: list[FetchItem],
    with_modseq: bool,
) -> None:
    data_of = _metadata_writer(view, items, with_modseq)
    for start in range(0, len(present), CACHE_BATCH):
        lines = [
            b"* %d FETCH (%s)\r\n" % (number, data_of(message))
            for number, message in present[start : start + CACHE_BATCH]
        ]
        await output.raw(b"".join(lines))


class _Output:
    """FETCH responses gathered into large writes: one write per response would cost a
    system call each (and the client a read each)."""

    def __init__(self, session: ImapSession) -> None:
        self.session = session
        self.pending: list[bytes] = []
        self.size = 0
        self.since_drain = 0

    async def fetch_response(self, number: int, pieces: list[bytes]) -> None:
        self.pending.append(b"* %d FETCH (" % number)
        for index, piece in enumerate(pieces):
            if index:
                self.pending.append(b" ")
            self.pending.append(piece)
            self.size += len(piece)
        self.pending.append(b")\r\n")
        self.size += 20
        if self.size >= WRITE_CHUNK:
            await self.flush()

    async def raw(self, data: bytes) -> None:
        """Whole response lines made elsewhere."""
        await self.flush()
        self.session.write(data)
        self.since_drain += len(data)
        if self.since_drain >= DRAIN_EVERY:
            self.since_drain = 0
            await self.session.connection.drain()

    async def flush(self) -> None:
        if self.pending:
            self.session.write(b"".join(self.pending))
            self.since_drain += self.size
            self.pending.clear()
            self.size = 0
        if self.since_drain >= DRAIN_EVERY:
            self.since_drain = 0
            await self.session.connection.drain()


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
