"""The command reader remembers one-line commands (parser.py `_LineCache`): a line read
again, under any tag and with any sequence set, gives exactly what reading it afresh
gives, for well-formed and hostile lines alike; secrets are never remembered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.commands import Command
from mailroom.imap.parser import CommandError, CommandParser, ParserLimits, Step

LIMITS = ParserLimits(max_literal=2000, max_append_literal=5000, max_command=20_000)


def fresh(line: bytes, limits: ParserLimits = LIMITS) -> Step:
    return CommandParser(limits, remember_lines=False).feed_line(line)


def test_a_line_read_again_under_another_tag_is_the_same_command() -> None:
    parser = CommandParser(LIMITS)
    first = parser.feed_line(b"a1 STATUS Work (MESSAGES UIDNEXT UNSEEN)")
    again = parser.feed_line(b"zz9 STATUS Work (MESSAGES UIDNEXT UNSEEN)")
    assert isinstance(first, Command) and isinstance(again, Command)
    assert again.tag == "zz9"
    assert again.args is first.args  # remembered, not parsed again
    assert again == fresh(b"zz9 STATUS Work (MESSAGES UIDNEXT UNSEEN)")


def test_a_fetch_with_another_sequence_set_keeps_its_own_set() -> None:
    parser = CommandParser(LIMITS)
    first = parser.feed_line(b"a1 UID FETCH 1:20 (UID FLAGS ENVELOPE)")
    again = parser.feed_line(b"a2 uid fetch 7,9:* (UID FLAGS ENVELOPE)")
    assert isinstance(first, Command) and isinstance(again, Command)
    assert again.args.items is first.args.items  # type: ignore[union-attr]
    assert again == fresh(b"a2 uid fetch 7,9:* (UID FLAGS ENVELOPE)")


def test_an_invalid_set_in_a_remembered_command_is_still_refused() -> None:
    parser = CommandParser(LIMITS)
    parser.feed_line(b"a1 STORE 1:2 +FLAGS (\\Seen)")
    refused = parser.feed_line(b"a2 STORE 0:2 +FLAGS (\\Seen)")
    assert refused == CommandError("a2", "Invalid sequence set")


def test_a_login_is_never_remembered() -> None:
    parser = CommandParser(ParserLimits(max_literal=77))  # limits no other test uses
    parser.feed_line(b"a1 LOGIN alice secret")
    assert not parser.remembered_lines()
    parser.feed_line(b"a2 NOOP")
    assert parser.remembered_lines() == 1


_SETS = st.one_of(
    st.sampled_from(["1", "1:20", "*", "$", "5:*", "0", "1,$", "4:2,7", "99999999999", ":"]),
    st.text(alphabet="0123456789:*,$", min_size=1, max_size=12),
)
_NAMES = st.sampled_from(
    ["FETCH", "UID FETCH", "fetch", "STORE", "UID STORE", "COPY", "UID MOVE", "MOVE", "UID"]
)
_TAILS = st.one_of(
    st.sampled_from(
        [
            "(UID FLAGS)",
            "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)",
            "(UID BODY.PEEK[])",
            "BODY[TEXT]",
            "+FLAGS (\\Seen $keyword1)",
            "-FLAGS.SILENT (\\Deleted)",
            "(UNCHANGEDSINCE 5) FLAGS ()",
            "Trash",
            '"Sent Items"',
            "(FLAGS) (CHANGEDSINCE 3 VANISHED)",
            "(FLAGS",
            "",
        ]
    ),
    st.text(alphabet=' ()[]<>.\\$"*%{}+-:0123456789ABFGLSTUXabflgs\x00\x7f', max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(
    tag=st.sampled_from(["a1", "b", "x.9", "+bad", ""]),
    name=_NAMES,
    first_set=_SETS,
    second_set=_SETS,
    tail=_TAILS,
)
def test_a_remembered_line_reads_as_a_fresh_parser_reads_it(
    tag: str, name: str, first_set: str, second_set: str, tail: str
) -> None:
    parser = CommandParser(LIMITS)
    first = f"{tag} {name} {first_set} {tail}".encode()
    second = f"{tag}z {name} {second_set} {tail}".encode()
    assert parser.feed_line(first) == fresh(first)
    assert parser.feed_line(second) == fresh(second)
    assert parser.feed_line(first) == fresh(first)


@settings(max_examples=300, deadline=None)
@given(line=st.binary(max_size=60), tag=st.binary(min_size=1, max_size=5))
def test_any_line_read_twice_reads_as_a_fresh_parser_reads_it(line: bytes, tag: bytes) -> None:
    parser = CommandParser(LIMITS)
    for attempt in (b"t1 " + line, tag + b" " + line, b"t1 " + line):
        step = parser.feed_line(attempt)
        assert step == fresh(attempt)
        parser.reset()
