"""What the server writes: values quoted, sent as literals or bare, and whole lines; and
that a client reading them back (our own parser) gets the same text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.commands import Login, Search
from mailroom.imap.search_keys import Body
from mailroom.imap.wire import (
    Atom,
    Literal8,
    Value,
    astring,
    astring_text,
    continuation,
    format_flags,
    quoted,
    response,
    serialize,
    status_response,
    string_pieces,
)
from tests.support.imap_commands import command


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (None, b"NIL"),
        (0, b"0"),
        (4294967295, b"4294967295"),
        (Atom("\\Seen"), b"\\Seen"),
        (Atom("BODY[1]<0>"), b"BODY[1]<0>"),
        ("", b'""'),
        ("INBOX", b'"INBOX"'),
        ('say "hi" \\o/', b'"say \\"hi\\" \\\\o/"'),
        ("two\r\nlines", b"{10}\r\ntwo\r\nlines"),
        ("bare\nlf", b"{7}\r\nbare\nlf"),
        ("Entwürfe", b"{9}\r\nEntw\xc3\xbcrfe"),
        ("x" * 1000, b'"' + b"x" * 1000 + b'"'),
        ("x" * 1001, b"{1001}\r\n" + b"x" * 1001),
        (b"raw", b'"raw"'),
        (b"\xff", b"{1}\r\n\xff"),
        (b"a\x00b", b"{3}\r\na\x80b"),
        (Literal8(b"a\x00b"), b"~{3}\r\na\x00b"),
        ([], b"()"),
        ([1, [None, "a"], (Atom("X"),)], b'(1 (NIL "a") (X))'),
    ],
)
def test_serialize(value: Value, wire: bytes) -> None:
    assert serialize(value) == wire


def test_utf8_accept_quotes_non_ascii_but_not_controls() -> None:
    assert serialize("Entwürfe", utf8=True) == '"Entwürfe"'.encode()
    assert serialize("a\u0085b", utf8=True).startswith(b"{")
    assert serialize(b"\xff", utf8=True) == b"{1}\r\n\xff"
    assert serialize("tab\there", utf8=True).startswith(b"{")


def test_values_that_are_not_imap_are_refused() -> None:
    with pytest.raises(ValueError):
        serialize(-1)
    with pytest.raises(TypeError):
        serialize(True)
    with pytest.raises(TypeError):
        serialize(1.5)  # type: ignore[arg-type]


def test_quoted_escapes_quotes_and_backslashes() -> None:
    assert quoted('a"b\\') == b'"a\\"b\\\\"'


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("INBOX", "INBOX"),
        ("Sent]", "Sent]"),
        ("a b", '"a b"'),
        ("", '""'),
        ("NIL", '"NIL"'),
        ("nil", '"nil"'),
        ("*", '"*"'),
        ("50%", '"50%"'),
        ("a\\b", '"a\\\\b"'),
        ("Entwürfe", '"Entwürfe"'),
    ],
)
def test_astring_is_bare_only_when_it_can_be(text: str, written: str) -> None:
    assert astring_text(text) == written
    assert serialize(astring(text), utf8=True) == written.encode()


def test_format_flags_puts_system_flags_first_then_keywords_sorted() -> None:
    flags = format_flags({"$Label2", "\\Seen", "\\Answered", "$label1", "\\Recent"})
    assert flags == Atom("(\\Answered \\Seen \\Recent $label1 $Label2)")
    assert serialize([Atom("FLAGS"), format_flags([])]) == b"(FLAGS ())"


def test_response_lines() -> None:
    assert response(None, 3, Atom("EXISTS")) == b"* 3 EXISTS\r\n"
    assert (
        response(None, Atom("LIST"), [Atom("\\HasNoChildren")], ".", astring("INBOX"))
        == b'* LIST (\\HasNoChildren) "." INBOX\r\n'
    )
    assert response("a1", Atom("X"), "two\r\nlines") == b"a1 X {10}\r\ntwo\r\nlines\r\n"


def test_status_response_lines() -> None:
    assert status_response("a1", "OK", "LOGIN completed") == b"a1 OK LOGIN completed\r\n"
    assert (
        status_response(None, "OK", "Ok", (Atom("UIDVALIDITY"), 3857529045))
        == b"* OK [UIDVALIDITY 3857529045] Ok\r\n"
    )
    assert status_response("a", "OK", "done", Atom("READ-WRITE")) == b"a OK [READ-WRITE] done\r\n"
    assert status_response("a", "NO", "Gone", "NONEXISTENT") == b"a NO [NONEXISTENT] Gone\r\n"
    assert (
        status_response(
            "a", "OK", "Moved", (Atom("COPYUID"), 38505, Atom("304,319:320"), Atom("3956:3958"))
        )
        == b"a OK [COPYUID 38505 304,319:320 3956:3958] Moved\r\n"
    )
    assert (
        status_response(None, "OK", "Flags", (Atom("PERMANENTFLAGS"), format_flags(["\\Seen"])))
        == b"* OK [PERMANENTFLAGS (\\Seen)] Flags\r\n"
    )
    # Text never cuts the line short.
    assert status_response("a", "NO", "bad\r\nname") == b"a NO bad  name\r\n"


def test_continuation() -> None:
    assert continuation("OK") == b"+ OK\r\n"
    assert continuation() == b"+ \r\n"


# --- Round trips: what we write, a client reads back ---------------------------------

TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT, st.booleans())
def test_serialized_strings_read_back_as_astrings(user: str, password: str, utf8: bool) -> None:
    line = b"a LOGIN " + serialize(user, utf8=utf8) + b" " + serialize(astring(password)) + b"\r\n"
    assert command(line).args == Login(user, password)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1200).filter(lambda data: b"\x00" not in data))
def test_serialized_bytes_read_back_as_the_same_octets(data: bytes) -> None:
    # A search string keeps its octets (decoded as UTF-8 with replacement).
    parsed = command(b"a SEARCH BODY " + serialize(data) + b"\r\n").args
    assert parsed == Search(Body(data.decode("utf-8", errors="replace")))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1200) | st.sampled_from([b"", b"NIL", b"a\r\nb", b"\x00"]), st.booleans())
def test_string_pieces_are_the_serialized_string_written_in_parts(data: bytes, utf8: bool) -> None:
    pieces = string_pieces(data, utf8=utf8)
    assert b"".join(pieces) == serialize(data, utf8=utf8)
    if len(pieces) == 2 and b"\x00" not in data:
        assert pieces[1] is data  # a literal's octets are not copied
