"""The arguments of NOTIFY (RFC 5465 §8): `NOTIFY NONE`, `NOTIFY SET [STATUS] event-groups`.

Everything that makes the command malformed is a GrammarError here, and so a BAD:
the grammar itself, and the rules RFC 5465 words as "the server MUST respond with the
tagged BAD response" (§5: MessageNew and MessageExpunge only together, FlagChange and
AnnotationChange only with both; §6.1: one selected filter at most, and only message
events with it; §8: fetch attributes only on MessageNew of a selected filter). An
event name this server does not know is still grammar (`event-ext = atom`): the
session answers it with NO [BADEVENT] (§3.1). Pure: no state, no I/O.
"""

from __future__ import annotations

from mailroom.imap.commands import Notify, NotifyFilter, NotifyGroup
from mailroom.imap.fetch_items import (
    Attribute,
    BodySection,
    FetchAttribute,
    FetchItem,
    parse_fetch_items,
)
from mailroom.imap.sections import SectionText
from mailroom.imap.tokens import ImapTokenReader, ParserLimits
from mailroom.wire.tokens import GrammarError, Group

EVENTS = (
    "MessageNew",
    "MessageExpunge",
    "FlagChange",
    "AnnotationChange",
    "MailboxName",
    "SubscriptionChange",
    "MailboxMetadataChange",
    "ServerMetadataChange",
)
"""RFC 5465 §5's events, in its spelling."""
MESSAGE_EVENTS = frozenset({"MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange"})
"""RFC 5465 §8 message-event: the only ones a selected filter may name (§6.1)."""
SELECTED_FILTERS = frozenset({NotifyFilter.SELECTED, NotifyFilter.SELECTED_DELAYED})
MAX_FETCH_ATTRIBUTES = 32
"""MessageNew's fetch attributes: they are answered for every new message."""
_SPELLING = {event.upper(): event for event in EVENTS}
_FILTERS = {kind.value: kind for kind in NotifyFilter}
_WITH_NAMES = frozenset({NotifyFilter.SUBTREE, NotifyFilter.MAILBOXES})
_CHEAP_ATTRIBUTES = frozenset(
    {
        Attribute.UID,
        Attribute.FLAGS,
        Attribute.ENVELOPE,
        Attribute.INTERNALDATE,
        Attribute.RFC822_SIZE,
        Attribute.MODSEQ,
        Attribute.BODYSTRUCTURE,
        Attribute.BODY,
        Attribute.RFC822_HEADER,
    }
)
_HEADER_TEXTS = frozenset(
    {SectionText.HEADER, SectionText.HEADER_FIELDS, SectionText.HEADER_FIELDS_NOT}
)


def parse_notify(reader: ImapTokenReader, limits: ParserLimits) -> Notify:
    """RFC 5465 §8: notify = "NOTIFY" SP (notify-set / notify-none)."""
    form = reader.keyword()
    if form == "NONE":
        return Notify(None)
    if form != "SET":
        raise GrammarError("Expected NOTIFY SET or NOTIFY NONE")
    status = reader.take_keyword("STATUS")
    _some(reader, limits, "event groups")
    groups = []
    while not reader.at_end():
        if not isinstance(reader.peek(), Group):
            raise GrammarError("Expected an event group")
        groups.append(_group(reader.group(), limits))
    if sum(group.filter in SELECTED_FILTERS for group in groups) > 1:
        raise GrammarError("Only one of SELECTED and SELECTED-DELAYED may be given")
    return Notify(tuple(groups), status)


def _group(reader: ImapTokenReader, limits: ParserLimits) -> NotifyGroup:
    """event-group = "(" filter-mailboxes SP events ")"."""
    kind = _FILTERS.get(reader.keyword())
    if kind is None:
        raise GrammarError("Unknown mailbox filter")
    names: tuple[str, ...] = ()
    if kind in _WITH_NAMES:
        names = _mailboxes(reader, limits)
    if reader.take_keyword("NONE"):
        reader.end()
        return NotifyGroup(kind, names)
    events_reader = reader.group()
    reader.end()
    _some(events_reader, limits, "events")
    events: list[str] = []
    fetch: tuple[FetchItem, ...] = ()
    while not events_reader.at_end():
        word = events_reader.word()
        event = _SPELLING.get(word.upper(), word)
        events.append(event)
        if event == "MessageNew" and isinstance(events_reader.peek(), Group):
            if kind not in SELECTED_FILTERS:
                raise GrammarError("Fetch attributes only with SELECTED or SELECTED-DELAYED")
            fetch = _fetch_attributes(events_reader)
    _check_events(kind, frozenset(events))
    return NotifyGroup(kind, names, tuple(dict.fromkeys(events)), fetch)


def _mailboxes(reader: ImapTokenReader, limits: ParserLimits) -> tuple[str, ...]:
    """one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"."""
    if not isinstance(reader.peek(), Group):
        return (reader.astring(),)
    names_reader = reader.group()
    _some(names_reader, limits, "mailbox names")
    names = []
    while not names_reader.at_end():
        names.append(names_reader.astring())
    return tuple(dict.fromkeys(names))


def _fetch_attributes(reader: ImapTokenReader) -> tuple[FetchItem, ...]:
    """MessageNew's `(fetch-att …)`: only what costs little for every new message and
    neither sets \\Seen nor presumes a body part (RFC 5465 §5.2's SHOULD NOT)."""
    items = parse_fetch_items(reader, max_items=MAX_FETCH_ATTRIBUTES)
    for item in items:
        if isinstance(item, FetchAttribute) and item.attribute in _CHEAP_ATTRIBUTES:
            continue
        if (
            isinstance(item, BodySection)
            and item.peek
            and not item.section.part
            and item.section.text in _HEADER_TEXTS
        ):
            continue
        raise GrammarError("Fetch attribute not allowed with MessageNew")
    return items


def _some(reader: ImapTokenReader, limits: ParserLimits, what: str) -> None:
    """At least one item left, and not more than the limit."""
    if reader.at_end():
        raise GrammarError(f"Missing {what}")
    if reader.remaining() > limits.max_items:
        raise GrammarError(f"Too many {what}")


def _check_events(kind: NotifyFilter, events: frozenset[str]) -> None:
    """RFC 5465 §5 and §6.1: the combinations that are a BAD."""
    if ("MessageNew" in events) != ("MessageExpunge" in events):
        raise GrammarError("MessageNew and MessageExpunge must be given together")
    if events & {"FlagChange", "AnnotationChange"} and "MessageNew" not in events:
        raise GrammarError("FlagChange requires MessageNew and MessageExpunge")
    if kind in SELECTED_FILTERS and not events <= MESSAGE_EVENTS:
        raise GrammarError("Only message events with SELECTED and SELECTED-DELAYED")
