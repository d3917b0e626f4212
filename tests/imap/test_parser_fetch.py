"""FETCH and STORE as clients write them: the items asked for, the names they are
answered under (RFC 3501 §7.4.2), the CONDSTORE/QRESYNC modifiers, and refusals."""

from __future__ import annotations

import pytest

from mailroom.imap.commands import (
    Fetch,
    Store,
    StoreMode,
)
from mailroom.imap.fetch_items import (
    Attribute,
    BinarySection,
    BinarySize,
    BodySection,
    FetchAttribute,
    FetchItem,
)
from mailroom.imap.sections import Partial, Section, SectionText
from tests.support.imap_commands import args, refusal, seq

# --- FETCH ---------------------------------------------------------------------------


def fetch_items(text: str) -> tuple[FetchItem, ...]:
    fetched = args(f"a FETCH 1 {text}")
    assert isinstance(fetched, Fetch)
    return fetched.items


def body(section: Section, partial: Partial | None = None, peek: bool = False) -> BodySection:
    return BodySection(section, partial, peek)


@pytest.mark.parametrize(
    ("text", "items", "names"),
    [
        ("FLAGS", (FetchAttribute(Attribute.FLAGS),), ["FLAGS"]),
        ("fast", None, ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]),
        ("ALL", None, ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]),
        ("FULL", None, ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"]),
        (
            "(UID RFC822 RFC822.HEADER RFC822.TEXT BODYSTRUCTURE BODY MODSEQ)",
            None,
            ["UID", "RFC822", "RFC822.HEADER", "RFC822.TEXT", "BODYSTRUCTURE", "BODY", "MODSEQ"],
        ),
        ("BODY[]", (body(Section()),), ["BODY[]"]),
        ("body.peek[]<0.100>", (body(Section(), Partial(0, 100), True),), ["BODY[]<0>"]),
        ("BODY[1.2]", (body(Section((1, 2))),), ["BODY[1.2]"]),
        ("BODY[1.2.MIME]", (body(Section((1, 2), SectionText.MIME)),), ["BODY[1.2.MIME]"]),
        ("BODY[HEADER]", (body(Section((), SectionText.HEADER)),), ["BODY[HEADER]"]),
        (
            "BODY[3.text]<5.10>",
            (body(Section((3,), SectionText.TEXT), Partial(5, 10)),),
            ["BODY[3.TEXT]<5>"],
        ),
        (
            'BODY.PEEK[HEADER.FIELDS (To "From" {2}\r\ncc)]<0.2048>',
            (
                body(
                    Section((), SectionText.HEADER_FIELDS, ("To", "From", "cc")),
                    Partial(0, 2048),
                    True,
                ),
            ),
            ["BODY[HEADER.FIELDS (To From cc)]<0>"],
        ),
        (
            "(BODY[1.HEADER.FIELDS.NOT (Received)] FLAGS)",
            (
                body(Section((1,), SectionText.HEADER_FIELDS_NOT, ("Received",))),
                FetchAttribute(Attribute.FLAGS),
            ),
            ["BODY[1.HEADER.FIELDS.NOT (Received)]", "FLAGS"],
        ),
        ("BINARY[]", (BinarySection(),), ["BINARY[]"]),
        (
            "BINARY.PEEK[1.2]<0.10>",
            (BinarySection((1, 2), Partial(0, 10), True),),
            ["BINARY[1.2]<0>"],
        ),
        ("BINARY.SIZE[2]", (BinarySize((2,)),), ["BINARY.SIZE[2]"]),
        ("(FLAGS FLAGS UID)", None, ["FLAGS", "UID"]),
    ],
)
def test_fetch_items_and_the_names_they_are_answered_under(
    text: str, items: tuple[object, ...] | None, names: list[str]
) -> None:
    parsed = fetch_items(text)
    if items is not None:
        assert parsed == items
    assert [item.response_name for item in parsed] == names


def test_fetch_sets_seen_unless_peek() -> None:
    seen = {
        item.response_name: item.sets_seen
        for item in fetch_items(
            "(BODY[] BODY.PEEK[1] RFC822 RFC822.HEADER RFC822.TEXT FLAGS BINARY[])"
        )
    }
    assert seen == {
        "BODY[]": True,
        "BODY[1]": False,
        "RFC822": True,
        "RFC822.HEADER": False,
        "RFC822.TEXT": True,
        "FLAGS": False,
        "BINARY[]": True,
    }


def test_fetch_modifiers_of_condstore_and_qresync() -> None:
    assert args("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)") == Fetch(
        seq("1:*"),
        (FetchAttribute(Attribute.FLAGS),),
        12345,
        True,
    )
    assert args("a FETCH 1 FLAGS (changedsince 9223372036854775807)") == Fetch(
        seq("1"),
        (FetchAttribute(Attribute.FLAGS),),
        2**63 - 1,
    )


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        ("a FETCH 1", "Missing argument"),
        ("a FETCH 1 ()", "Missing fetch items"),
        ("a FETCH 1 (ALL)", "Invalid fetch item"),
        ("a FETCH 1 BODY.PEEK", "Invalid fetch item"),
        ("a FETCH 1 BODY[0]", "Invalid section part number"),
        ("a FETCH 1 BODY[MIME]", "Invalid section"),
        ("a FETCH 1 BODY[1.]", "Invalid section"),
        ("a FETCH 1 BODY[HEADER.FIELDS]", "Invalid section"),
        ("a FETCH 1 BODY[HEADER.FIELDS ()]", "Missing header field names"),
        ('a FETCH 1 BODY[HEADER.FIELDS ("a:b")]', "Invalid header field name"),
        ("a FETCH 1 BODY[TEXT (To)]", "Invalid fetch item"),
        ("a FETCH 1 BODY[]<0>", "Invalid partial"),
        ("a FETCH 1 BODY[]<0.0>", "Invalid partial"),
        ("a FETCH 1 BODY[]<-1.5>", "Invalid partial"),
        ("a FETCH 1 BINARY[1.MIME]", "Invalid section"),
        ("a FETCH 1 BINARY.SIZE[1]<0.5>", "Invalid fetch item"),
        ("a FETCH 0 FLAGS", "Invalid sequence set"),
        ("a FETCH 1:x FLAGS", "Invalid sequence set"),
        ('a FETCH "1" FLAGS', "Invalid sequence set"),
        ("a FETCH 1,2, FLAGS", "Invalid sequence set"),
        ("a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)", "Number too large"),
        ("a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)", "VANISHED needs UID FETCH and CHANGEDSINCE"),
        ("a UID FETCH 1 FLAGS (VANISHED)", "VANISHED needs UID FETCH and CHANGEDSINCE"),
        ("a FETCH 1 FLAGS (FOO)", "Unknown FETCH modifier"),
        ("a FETCH 1 FLAGS extra", "Expected a parenthesized list"),
    ],
)
def test_bad_fetch(stream: str, text: str) -> None:
    error = refusal(stream)
    assert (error.tag, error.text, error.fatal) == ("a", text, False)


# --- STORE ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("a STORE 1 FLAGS ()", Store(seq("1"), StoreMode.SET, ())),
        (
            "a STORE 1:* +FLAGS.SILENT (\\deleted \\SEEN $Label1)",
            Store(seq("1:*"), StoreMode.ADD, ("\\Deleted", "\\Seen", "$Label1"), silent=True),
        ),
        ("a STORE 2 -flags \\Flagged", Store(seq("2"), StoreMode.REMOVE, ("\\Flagged",))),
        (
            "a STORE 3 (UNCHANGEDSINCE 0) FLAGS.SILENT (\\Answered \\Answered)",
            Store(seq("3"), StoreMode.SET, ("\\Answered",), True, 0),
        ),
    ],
)
def test_store(stream: str, expected: Store) -> None:
    assert args(stream) == expected


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        ("a STORE 1 FLAGS", "Missing argument"),
        ("a STORE 1 XFLAGS (\\Seen)", "Invalid STORE item"),
        ("a STORE 1 FLAGS (\\Bogus)", "Invalid system flag \\Bogus"),
        ("a STORE 1 FLAGS (\\Recent)", "Invalid system flag \\Recent"),
        ("a STORE 1 FLAGS (a]b)", "Invalid keyword"),
        ("a STORE 1 FLAGS ((\\Seen))", "Invalid argument"),
        ("a STORE 1 (UNCHANGEDSINCE -1) FLAGS ()", "Invalid number"),
        ("a STORE 1 (FOO 1) FLAGS ()", "Unknown STORE modifier"),
    ],
)
def test_bad_store(stream: str, text: str) -> None:
    assert refusal(stream).text == text
