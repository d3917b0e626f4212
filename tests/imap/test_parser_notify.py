"""NOTIFY's grammar (RFC 5465 §8): what the parser reads, what it refuses with BAD, and
(with hypothesis) that no client input makes it raise or hand the session a NOTIFY
that breaks RFC 5465's rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.commands import Command, Notify, NotifyFilter, NotifyGroup
from mailroom.imap.fetch_items import Attribute, BodySection, FetchAttribute
from mailroom.imap.notify_arguments import (
    EVENTS,
    MAX_FETCH_ATTRIBUTES,
    MESSAGE_EVENTS,
    SELECTED_FILTERS,
)
from mailroom.imap.parser import CommandError, CommandParser, ParserLimits
from mailroom.imap.sections import Section, SectionText
from tests.imap.test_parser_properties import LIMITS, drive, still_in_step
from tests.support.imap_commands import args, refusal

FAST = settings(max_examples=500, deadline=None)


def test_rfc_5465_example_is_read() -> None:
    # RFC 5465 §3.1's example, less the STATUS of INBOX it sends.
    assert args(
        "a NOTIFY SET STATUS (selected (MessageNew (uid body.peek[header.fields (from to subject)])"
        " MessageExpunge)) (subtree Lists (MessageNew MessageExpunge MailboxName))"
    ) == Notify(
        (
            NotifyGroup(
                NotifyFilter.SELECTED,
                (),
                ("MessageNew", "MessageExpunge"),
                (
                    FetchAttribute(Attribute.UID),
                    BodySection(
                        Section((), SectionText.HEADER_FIELDS, ("from", "to", "subject")),
                        peek=True,
                    ),
                ),
            ),
            NotifyGroup(
                NotifyFilter.SUBTREE,
                ("Lists",),
                ("MessageNew", "MessageExpunge", "MailboxName"),
            ),
        ),
        status=True,
    )


def test_notify_none_and_none_events() -> None:
    assert args("a NOTIFY none") == Notify(None)
    assert args('a NOTIFY SET (mailboxes ("a b" {5+}\r\nINBOX) NONE)') == Notify(
        (NotifyGroup(NotifyFilter.MAILBOXES, ("a b", "INBOX")),)
    )


def test_unknown_events_are_read_for_the_session_to_refuse() -> None:
    # RFC 5465 §3.1: an unsupported event is a NO [BADEVENT], not a BAD.
    assert args("a NOTIFY SET (personal (Bogus messagenew MESSAGEEXPUNGE annotationchange))") == (
        Notify(
            (
                NotifyGroup(
                    NotifyFilter.PERSONAL,
                    (),
                    ("Bogus", "MessageNew", "MessageExpunge", "AnnotationChange"),
                ),
            )
        )
    )


def test_refusals_say_why() -> None:
    assert refusal("a NOTIFY SET (personal (MessageNew))").text == (
        "MessageNew and MessageExpunge must be given together"
    )
    assert refusal("a NOTIFY SET (inboxes (FlagChange))").text == (
        "FlagChange requires MessageNew and MessageExpunge"
    )
    assert refusal("a NOTIFY SET (inboxes (FlagChange MessageExpunge))").text == (
        "MessageNew and MessageExpunge must be given together"
    )
    assert refusal("a NOTIFY SET (selected (SubscriptionChange))").text == (
        "Only message events with SELECTED and SELECTED-DELAYED"
    )
    assert refusal("a NOTIFY SET (selected (MessageNew (RFC822) MessageExpunge))").text == (
        "Fetch attribute not allowed with MessageNew"
    )


def test_limits() -> None:
    limits = ParserLimits(max_items=3)
    groups = " ".join(["(personal NONE)"] * 4)
    assert refusal(f"a NOTIFY SET {groups}", limits).text == "Too many event groups"
    assert refusal("a NOTIFY SET (mailboxes (a b c d) NONE)", limits).text == (
        "Too many mailbox names"
    )
    many = " ".join(["UID"] * (MAX_FETCH_ATTRIBUTES + 1))
    assert refusal(f"a NOTIFY SET (selected (MessageNew ({many}) MessageExpunge))").text == (
        "Too many fetch items"
    )


# -- hostile input ---------------------------------------------------------------------------

WORDS = [
    "SET", "NONE", "STATUS", "selected", "SELECTED-DELAYED", "inboxes", "personal", "subscribed",
    "subtree", "mailboxes", "Mailboxes", *EVENTS, "messagenew", "Bogus", "UID", "FLAGS",
    "ENVELOPE", "BODY[]", "BODY.PEEK[HEADER]", "BODY.PEEK[HEADER.FIELDS", "(From)", "]", "RFC822",
    "INBOX", '"a b"', "{3+}\r\nabc", "{2}\r\nxy", "NIL", "*", "%", "(", ")", "()", "((", "))",
    "", "\\Seen", "1:*", "ü", "\x00",
]  # fmt: skip


@st.composite
def notify_streams(draw: st.DrawFn) -> bytes:
    pieces = draw(st.lists(st.sampled_from(WORDS), max_size=24))
    return ("a NOTIFY " + " ".join(pieces) + "\r\n").encode("utf-8", errors="surrogateescape")


def check_rules(notify: Notify) -> None:
    """What the session may rely on in any NOTIFY the parser hands it."""
    if notify.groups is None:
        return
    assert notify.groups
    assert sum(g.filter in SELECTED_FILTERS for g in notify.groups) <= 1
    for group in notify.groups:
        events = set(group.events)
        assert ("MessageNew" in events) == ("MessageExpunge" in events)
        assert not events & {"FlagChange", "AnnotationChange"} or "MessageNew" in events
        if group.filter in SELECTED_FILTERS:
            assert events <= MESSAGE_EVENTS
        else:
            assert not group.fetch
        assert bool(group.mailboxes) == (
            group.filter in (NotifyFilter.SUBTREE, NotifyFilter.MAILBOXES)
        )
        assert len(group.fetch) <= MAX_FETCH_ATTRIBUTES
        assert all(not item.sets_seen for item in group.fetch)


@FAST
@given(notify_streams())
def test_hostile_notify_commands(stream: bytes) -> None:
    parser = CommandParser(LIMITS)
    steps = drive(stream, parser)
    for step in steps:
        if isinstance(step, Command):
            assert isinstance(step.args, Notify)
            check_rules(step.args)
    still_in_step(parser, steps)


FILTERS = [kind.value.lower() for kind in NotifyFilter]
EVENT_SETS = [
    "NONE", "(MessageNew MessageExpunge)", "(MessageNew MessageExpunge FlagChange)",
    "(MailboxName SubscriptionChange)", "(MessageNew (UID FLAGS) MessageExpunge)",
    "(MessageExpunge MessageNew (ENVELOPE BODY.PEEK[HEADER]) AnnotationChange)",
]  # fmt: skip


@st.composite
def well_formed_groups(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(FILTERS))
    names = ""
    if kind in ("subtree", "mailboxes"):
        names = draw(st.sampled_from(["INBOX ", '"Lists.a b" ', "(INBOX Sent) ", "({1+}\r\nx) "]))
    return f"({kind} {names}{draw(st.sampled_from(EVENT_SETS))})"


@FAST
@given(st.booleans(), st.lists(well_formed_groups(), min_size=1, max_size=5))
def test_well_formed_notify_is_read_or_refused_by_the_rules(
    status: bool, groups: list[str]
) -> None:
    line = f"a NOTIFY SET {'STATUS ' if status else ''}{' '.join(groups)}\r\n".encode()
    steps = drive(line, CommandParser(LIMITS))
    last = steps[-1]
    chosen = [g.startswith(("(selected ", "(selected-delayed ")) for g in groups]
    selected = sum(chosen)
    mixed = any(
        ("Mailbox" in g) if is_selected else ("(UID" in g or "(ENVELOPE" in g)
        for g, is_selected in zip(groups, chosen, strict=True)
    )
    if selected <= 1 and not mixed:
        assert isinstance(last, Command), last
        assert isinstance(last.args, Notify) and last.args.status == status
        assert last.args.groups is not None and len(last.args.groups) == len(groups)
        check_rules(last.args)
    else:
        assert isinstance(last, CommandError)
