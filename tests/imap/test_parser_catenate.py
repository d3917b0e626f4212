"""APPEND … CATENATE (RFC 4469 §5) as the parser reads it, and the IMAP URLs of its URL
parts (RFC 5092) as urls.py reads them: examples, then hostile input (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.commands import (
    Append,
    AppendMessage,
    CatenateText,
    CatenateUrl,
    Command,
)
from mailroom.imap.parser import CommandError, CommandParser, NeedLiteral, ParserLimits
from mailroom.imap.sections import Partial, Section, SectionText
from mailroom.imap.urls import MAX_NUMBER, MessageUrl, UrlError, parse_url
from tests.imap.test_parser_properties import drive, still_in_step
from tests.support.imap_commands import command, play, refusal

FAST = settings(max_examples=500, deadline=None)
LIMITS = ParserLimits(max_literal=2000, max_append_literal=5000, max_command=20_000)


# --- The grammar -------------------------------------------------------------------------


def test_catenate_parts_in_order_with_multiappend() -> None:
    stream = (
        b'a APPEND Drafts (\\Seen) CATENATE (URL "/INBOX;UIDVALIDITY=7/;UID=3" TEXT {3+}\r\n'
        b"abc TEXT ~{2+}\r\n\x00\n) catenate (url ;UID=1) {1+}\r\nx\r\n"
    )
    assert command(stream) == Command(
        "a",
        "APPEND",
        False,
        Append(
            "Drafts",
            (
                AppendMessage(
                    None,
                    ("\\Seen",),
                    catenate=(
                        CatenateUrl("/INBOX;UIDVALIDITY=7/;UID=3"),
                        CatenateText(b"abc"),
                        CatenateText(b"\x00\n", binary=True),
                    ),
                ),
                AppendMessage(None, catenate=(CatenateUrl(";UID=1"),)),
                AppendMessage(b"x"),
            ),
        ),
    )


def test_text_parts_are_message_literals_and_a_url_literal_is_not() -> None:
    steps = play(
        b"a APPEND INBOX CATENATE (URL {6}\r\n;UID=1 TEXT {300}\r\n" + b"x" * 300 + b")\r\n"
    )
    assert steps[0] == NeedLiteral(6, True)
    assert steps[1] == NeedLiteral(300, True, message=True)
    assert isinstance(steps[2], Command)


def test_text_parts_together_over_the_limit_are_toobig_before_they_are_sent() -> None:
    parser = CommandParser(ParserLimits(max_append_literal=10))
    steps = play(b"a APPEND INBOX CATENATE (TEXT {6+}\r\nabcdef TEXT {5}\r\n", parser)
    assert steps[-1] == CommandError("a", "Message too large", code="TOOBIG")
    # Each CATENATE of a MULTIAPPEND counts on its own.
    parser = CommandParser(ParserLimits(max_append_literal=10))
    stream = b"a APPEND INBOX CATENATE (TEXT {6+}\r\nabcdef) CATENATE (TEXT {5+}\r\nabcde)\r\n"
    assert isinstance(play(stream, parser)[-1], Command)


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        ("a APPEND INBOX CATENATE ()", "Empty CATENATE list"),
        ("a APPEND INBOX CATENATE", "Missing argument"),
        ("a APPEND INBOX CATENATE (URL)", "Missing argument"),
        ("a APPEND INBOX CATENATE (TEXT)", "Missing argument"),
        ('a APPEND INBOX CATENATE (TEXT "abc")', "Missing message literal"),
        ("a APPEND INBOX CATENATE (FILE {1}\r\nx)", "Invalid CATENATE part"),
        ('a APPEND INBOX CATENATE URL "/INBOX/;UID=1"', "Expected a parenthesized list"),
        ("a APPEND INBOX CATENATE (TEXT (x))", "Missing message literal"),
    ],
)
def test_bad_catenate(stream: str, text: str) -> None:
    error = refusal(stream)
    assert (error.tag, error.text) == ("a", text)


def test_binary_text_outside_catenate_or_append_is_refused() -> None:
    assert refusal(b"a APPEND INBOX CATENATE (URL ~{3}\r\n") == CommandError(
        "a", "Binary literal not allowed here"
    )


def test_catenate_parts_are_counted() -> None:
    parts = " ".join(['URL ";UID=1"'] * 11)
    error = refusal(f"a APPEND INBOX CATENATE ({parts})", ParserLimits(max_items=10))
    assert error.text == "Too many CATENATE parts"


# --- Hostile input -------------------------------------------------------------------------

PIECES = [
    "CATENATE", "catenate", "(", ")", "TEXT", "text", "URL", "url", '"/INBOX/;UID=1"', ";UID=1",
    "{0}\r\n", "{3+}\r\nabc", "~{2+}\r\n\x00\n", "{4999+}\r\n", "{5001}\r\n", "~{9}\r\n", "{1}\r\n",
    "UTF8", "(\\Seen)", '"01-Jan-2000 10:00:00 +0100"', "NIL", "INBOX", " ", "\\", '"', "{",
]  # fmt: skip


@st.composite
def catenate_streams(draw: st.DrawFn) -> bytes:
    """APPEND commands shaped like CATENATE ones, with hostile parts in any order."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        pieces = draw(st.lists(st.sampled_from(PIECES), max_size=25))
        out.append("a APPEND INBOX " + " ".join(pieces) + "\r\n")
    return "".join(out).encode("utf-8", errors="surrogateescape")


@FAST
@given(catenate_streams())
def test_hostile_catenate_commands(stream: bytes) -> None:
    parser = CommandParser(LIMITS)
    steps = drive(stream, parser)
    for step in steps:
        if isinstance(step, Command):
            assert isinstance(step.args, Append)
            for message in step.args.messages:
                assert message.catenate is None or (message.catenate and message.data is None)
    still_in_step(parser, steps)


@FAST
@given(st.lists(st.integers(0, 6000), min_size=1, max_size=6))
def test_catenate_text_total_is_bounded(sizes: list[int]) -> None:
    """Whatever the sizes announced, no CATENATE is asked for more than the limit."""
    parser = CommandParser(LIMITS)
    stream = (
        b"a APPEND INBOX CATENATE ("
        + b" ".join(b"TEXT {%d+}\r\n" % size + b"x" * size for size in sizes)
        + b")\r\n"
    )
    steps = drive(stream, parser)
    asked = sum(step.size for step in steps if isinstance(step, NeedLiteral) and step.message)
    assert asked <= LIMITS.max_append_literal
    if sum(sizes) > LIMITS.max_append_literal:
        assert any(isinstance(step, CommandError) and step.code == "TOOBIG" for step in steps)
    still_in_step(parser, steps)


# --- URLs ----------------------------------------------------------------------------------

MIME_OF_1 = Section((1,), SectionText.MIME)
TEXT = Section((), SectionText.TEXT)
TO_THE_END = Partial(10, MAX_NUMBER)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("/INBOX;UIDVALIDITY=5/;UID=3", MessageUrl("INBOX", 5, 3, Section())),
        ("/inbox/;uid=3/;section=1.2", MessageUrl("inbox", None, 3, Section((1, 2)))),
        (
            "/Sent%20Mail;UIDVALIDITY=9/;UID=1/;SECTION=HEADER.FIELDS%20(From%20To)",
            MessageUrl("Sent Mail", 9, 1, Section((), SectionText.HEADER_FIELDS, ("From", "To"))),
        ),
        ("/%C3%A4/;UID=2/;SECTION=1.MIME", MessageUrl("ä", None, 2, MIME_OF_1)),
        (";UID=7/;PARTIAL=10.5", MessageUrl(None, None, 7, Section(), Partial(10, 5))),
        (";UID=7/;section=text/;partial=10", MessageUrl(None, None, 7, TEXT, TO_THE_END)),
    ],
)
def test_urls_read(text: str, url: MessageUrl) -> None:
    assert parse_url(text) == url


@pytest.mark.parametrize(
    "text",
    [
        "imap://alice@example.test/INBOX/;UID=1",  # absolute: another server or user
        "/INBOX/;UID=1/;URLAUTH=anonymous:internal:abc",  # URLAUTH is not needed here
        "/INBOX;EXPIRE=2030-01-01T00:00:00Z/;UID=1",
        "/;UID=1",
        "/INBOX/;UID=0",
        "/INBOX/;UID=4294967296",
        "/INBOX;UIDVALIDITY=0/;UID=1",
        "/INBOX/;UID=1/;SECTION=1.0",
        "/INBOX/;UID=1/;SECTION=MIME",
        "/INBOX/;UID=1/;PARTIAL=1.0",
        "/%FF/;UID=1",
        "/INBOX",
        "INBOX/;UID=1",
        "/INBOX/;UID=1x",
        "/ä/;UID=1",
        "",
    ],
)
def test_urls_refused(text: str) -> None:
    with pytest.raises(UrlError):
        parse_url(text)


URL_PIECES = [
    "/", ";", "UID=", "uid=", "UIDVALIDITY=", "SECTION=", "PARTIAL=", "1", "0", "4294967296",
    "9" * 12, ".", "INBOX", "%", "%2F", "%00", "%C3%A4", "%FF", "HEADER.FIELDS", "%20(", ")",
    "MIME", "TEXT", "imap://", "@", "?", "#", "..", "~", "\x00", "ä", " ",
]  # fmt: skip


@FAST
@given(st.lists(st.sampled_from(URL_PIECES), max_size=20) | st.text(max_size=200))
def test_hostile_urls_are_read_or_refused(pieces: list[str] | str) -> None:
    text = pieces if isinstance(pieces, str) else "".join(pieces)
    try:
        url = parse_url(text)
    except UrlError as error:
        assert str(error)
        return
    assert 0 < url.uid <= MAX_NUMBER
    assert url.uidvalidity is None or 0 < url.uidvalidity <= MAX_NUMBER
    assert url.mailbox is None or (url.mailbox and "\x00" not in text)
