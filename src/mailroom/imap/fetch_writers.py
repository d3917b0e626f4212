"""How each FETCH data item of one message is written (RFC 9051 §7.5.2; RFC 3516
BINARY; RFC 7162 MODSEQ): one `Writer` per item, chosen once per command, then called
for every message with nothing left to decide.

Items the mailbox state answers alone (FLAGS, UID, RFC822.SIZE, INTERNALDATE, MODSEQ)
are `StateItem`s, which the fast paths of fetch.py also format a column at a time;
ENVELOPE, BODYSTRUCTURE and BODY come from the mailbox's index (`STRUCTURES`); body
sections read the message (`LoadedMessage`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

from mailroom.imap import responses
from mailroom.imap.bodystructure import body_structure_bytes
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
from mailroom.imap.selected import SelectedView
from mailroom.imap.wire import Literal8, format_flags, serialize, string_pieces
from mailroom.message import MessagePart, message_header, parse_message
from mailroom.store import MessageInfo

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
def flag_list(flags: frozenset[str], recent: bool) -> str:
    return format_flags([*flags, "\\Recent"] if recent else flags)


@lru_cache(maxsize=1024)
def flags_text(flags: frozenset[str], recent: bool) -> bytes:
    return flag_list(flags, recent).encode()


def needs_message(item: FetchItem) -> bool:
    """Whether the item needs the message's octets (not only state or index)."""
    if isinstance(item, FetchAttribute):
        return item.attribute in (
            Attribute.RFC822,
            Attribute.RFC822_HEADER,
            Attribute.RFC822_TEXT,
        )
    return True


class LoadedMessage:
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


Writer = Callable[[MessageInfo, "LoadedMessage | None", list[bytes]], None]
"""Appends one data item of one message's FETCH response to a list of pieces."""
Cached = dict[Attribute, dict[int, bytes]]
"""The current batch's ENVELOPE/BODYSTRUCTURE/BODY values, by attribute and UID."""


def fetch_one(message: MessageInfo, body: bytes | None, writers: list[Writer]) -> list[bytes]:
    """The data items of one message's FETCH response, in the order asked, as pieces to
    write one after the other (SP-separated already)."""
    loaded = LoadedMessage(body) if body is not None else None
    out: list[bytes] = []
    for index, write in enumerate(writers):
        if index:
            out.append(b" ")
        write(message, loaded, out)
    return out


def writers_for(
    view: SelectedView,
    items: list[FetchItem],
    cached: Cached,
    *,
    with_modseq: bool,
    utf8: bool,
) -> list[Writer]:
    """One writer per item, chosen once per command rather than once per message and
    item. `cached` holds the current batch's ENVELOPE/BODYSTRUCTURE values."""
    writers = [_writer(view, item, cached, utf8) for item in items]
    if with_modseq and FetchAttribute(Attribute.MODSEQ) not in items:
        writers.append(_from_state(state_item(view, Attribute.MODSEQ)))
    return writers


def _writer(view: SelectedView, item: FetchItem, cached: Cached, utf8: bool) -> Writer:
    if isinstance(item, BodySection):
        return _section_writer(item.response_name, item.section, item.partial, utf8)
    if isinstance(item, BinarySection | BinarySize):
        return _binary_writer(item)
    attribute = item.attribute
    if attribute in STATE_ITEMS:
        return _from_state(state_item(view, attribute))
    if attribute in STRUCTURES:
        name = attribute.value.encode() + b" "

        def structure(message: MessageInfo, loaded: LoadedMessage | None, out: list[bytes]) -> None:
            out.append(name)
            out.append(cached[attribute][message.uid])

        return structure
    section = {
        Attribute.RFC822: WHOLE,
        Attribute.RFC822_HEADER: HEADER,
        Attribute.RFC822_TEXT: TEXT,
    }[attribute]
    return _section_writer(attribute.value, section, None, utf8)


def _from_state(item: StateItem) -> Writer:
    form, value = item

    def write(message: MessageInfo, loaded: LoadedMessage | None, out: list[bytes]) -> None:
        out.append(form % value(message))

    return write


def _section_writer(name: str, section: Section, partial: Partial | None, utf8: bool) -> Writer:
    """BODY[section]<partial>, RFC822, RFC822.HEADER, RFC822.TEXT: the octets as a
    string (a literal, for any real message), written without copying them."""
    prefix = name.encode() + b" "
    whole = section == WHOLE and partial is None

    def write(message: MessageInfo, loaded: LoadedMessage | None, out: list[bytes]) -> None:
        assert loaded is not None
        data = loaded.data if whole else apply_partial(loaded.section(section), partial)
        out.append(prefix)
        out.extend(string_pieces(data, utf8=utf8))

    return write


def _binary_writer(item: BinarySection | BinarySize) -> Writer:
    """BINARY[part]<partial> and BINARY.SIZE[part] (RFC 3516)."""
    name = item.response_name.encode()
    section = Section(part=item.part)

    def write(message: MessageInfo, loaded: LoadedMessage | None, out: list[bytes]) -> None:
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


class StateItem(NamedTuple):
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


def state_item(view: SelectedView, attribute: Attribute) -> StateItem:
    if attribute is Attribute.FLAGS:
        if not view.show_recent or not view.recent:
            return StateItem(b"FLAGS %s", lambda m: flags_text(m.flags, False))
        recent = view.recent
        return StateItem(b"FLAGS %s", lambda m: flags_text(m.flags, m.uid in recent))
    if attribute is Attribute.INTERNALDATE:
        return StateItem(b"INTERNALDATE %s", lambda m: internal_date(m.internaldate))
    return {
        Attribute.UID: StateItem(b"UID %d", attrgetter("uid")),
        Attribute.RFC822_SIZE: StateItem(b"RFC822.SIZE %d", attrgetter("size")),
        Attribute.MODSEQ: StateItem(b"MODSEQ (%d)", attrgetter("modseq")),
    }[attribute]


def _envelope(data: bytes) -> bytes:
    # The header alone: the root part's fields are all an envelope reads (a MIME walk of
    # the body cost more than the envelope itself).
    return envelope_bytes(message_header(data))


def _bodystructure(data: bytes) -> bytes:
    return body_structure_bytes(parse_message(data), True)


def _body(data: bytes) -> bytes:
    return body_structure_bytes(parse_message(data), False)


STRUCTURES: dict[Attribute, tuple[str, Callable[[bytes], bytes]]] = {
    Attribute.ENVELOPE: ("envelope", _envelope),
    Attribute.BODYSTRUCTURE: ("bodystructure", _bodystructure),
    Attribute.BODY: ("body", _body),
}
"""Items computed from the message once and kept in the mailbox's index: the field
name in the index, and how to compute it."""
