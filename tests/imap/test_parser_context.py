"""The grammar of RFC 5267 (CONTEXT=SEARCH, ESORT): the RETURN options CONTEXT, UPDATE
and PARTIAL low:high, and CANCELUPDATE "tag"…; with hostile input, the parser answers
a command or a BAD, never anything else, and PARTIAL's numbers stay 32-bit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap import search_keys as sk
from mailroom.imap.commands import (
    CancelUpdate,
    Command,
    Search,
    Sort,
    SortCriterion,
    SortKey,
)
from mailroom.imap.parser import CommandError, CommandParser, NeedLiteral
from mailroom.imap.sequence import MAX_NUMBER
from tests.support.imap_commands import args, command, play, refusal

FAST = settings(max_examples=400, deadline=None)


def test_context_update_and_partial_are_return_options() -> None:
    assert args("a SEARCH RETURN (update Context partial 500:400 COUNT) SEEN") == Search(
        sk.Flag("\\Seen"), None, frozenset({"UPDATE", "CONTEXT", "PARTIAL", "COUNT"}), (400, 500)
    )
    assert args("a UID SORT RETURN (PARTIAL 1:10) (DATE) UTF-8 ALL") == Sort(
        (SortCriterion(SortKey.DATE),), "UTF-8", sk.All(), frozenset({"PARTIAL"}), (1, 10)
    )


def test_sort_reads_return_after_the_charset_too() -> None:
    # imaptest's sort-partial writes it there; no search key is named RETURN.
    assert args("a SORT (ARRIVAL) US-ASCII RETURN (PARTIAL 4:2) ALL") == Sort(
        (SortCriterion(SortKey.ARRIVAL),), "US-ASCII", sk.All(), frozenset({"PARTIAL"}), (2, 4)
    )
    assert refusal("a SORT RETURN () (ARRIVAL) US-ASCII RETURN () ALL").text == (
        "Unknown search key"
    )


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ("PARTIAL", "Missing argument"),
        ("PARTIAL 1", "PARTIAL range broken"),
        ("PARTIAL 1:*", "PARTIAL range broken"),
        ("PARTIAL -1:-10", "PARTIAL range broken"),
        ("PARTIAL 0:10", "PARTIAL range broken"),
        ("PARTIAL 01:10", "PARTIAL range broken"),
        ('PARTIAL "1:10"', "PARTIAL range broken"),
        ("PARTIAL (1:10)", "PARTIAL range broken"),
        ("PARTIAL 1:4294967296", "PARTIAL range broken"),
        ("PARTIAL 1:2 PARTIAL 1:2", "PARTIAL can be used only once"),
        ("UPDATE UPDATE", "UPDATE can be used only once"),
        ("ALL PARTIAL 1:2", "PARTIAL conflicts with ALL"),
        ("UPDATE (FLAGS)", "Invalid argument"),
    ],
)
def test_bad_return_options(options: str, error: str) -> None:
    assert refusal(f"a SEARCH RETURN ({options}) ALL").text == error
    assert refusal(f"a SORT RETURN ({options}) (DATE) UTF-8 ALL").text == error


def test_cancelupdate_takes_one_or_more_quoted_tags() -> None:
    assert args('a CANCELUPDATE "b1"') == CancelUpdate(("b1",))
    assert args('a CANCELUPDATE "b1" "b 2" ""') == CancelUpdate(("b1", "b 2", ""))
    for bad in ("a CANCELUPDATE", "a CANCELUPDATE b1", 'a CANCELUPDATE "b1" (x)'):
        assert isinstance(refusal(bad), CommandError)
    assert refusal(b"a CANCELUPDATE {2}\r\nb1\r\n").text == "Invalid parameters."


@FAST
@given(st.integers(1, MAX_NUMBER), st.integers(1, MAX_NUMBER))
def test_any_32_bit_partial_range_is_read_low_to_high(first: int, last: int) -> None:
    parsed = args(f"a SEARCH RETURN (PARTIAL {first}:{last}) ALL")
    assert isinstance(parsed, Search)
    assert parsed.partial == (min(first, last), max(first, last))


PIECES = [
    "PARTIAL", "UPDATE", "CONTEXT", "ALL", "MIN", "COUNT", "SAVE", "1:5", "5:1", "0:1", "1:*",
    "*", "-1:-5", "4294967295:1", "4294967296:1", "9" * 25 + ":1", "1:2:3", ":", "1:", ":1",
    "(", ")", "()", '"1:2"', "{3}\r\n1:2", "\x00", "ü",
]  # fmt: skip


@FAST
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.sampled_from(["SEARCH", "UID SORT"]))
def test_hostile_return_options_are_read_or_refused(pieces: list[str], name: str) -> None:
    tail = "ALL" if name == "SEARCH" else "(DATE) UTF-8 ALL"
    stream = f"a {name} RETURN ({' '.join(pieces)}) {tail}\r\nz NOOP\r\n"
    parser = CommandParser()
    steps = play(stream.encode("utf-8", errors="surrogateescape"), parser)
    assert steps[-1] == command("z NOOP")  # the parser is in step afterwards
    for step in steps:
        assert isinstance(step, Command | CommandError | NeedLiteral)
        parsed = step.args if isinstance(step, Command) else None
        if not isinstance(parsed, Search | Sort):
            continue
        assert parsed.return_options is not None
        assert (parsed.partial is not None) == ("PARTIAL" in parsed.return_options)
        if parsed.partial is not None:
            low, high = parsed.partial
            assert 1 <= low <= high <= MAX_NUMBER
            assert "ALL" not in parsed.return_options


@FAST
@given(st.lists(st.one_of(st.text(max_size=20), st.binary(max_size=20)), max_size=6))
def test_hostile_cancelupdate_is_read_or_refused(tags: list[str | bytes]) -> None:
    parts = []
    for tag in tags:
        data = tag.encode("utf-8", errors="surrogateescape") if isinstance(tag, str) else tag
        # Sent as a literal where it would end the line or announce one ("{0}") itself.
        as_literal = b"\r" in data or b"\n" in data or data.endswith(b"}")
        parts.append(b"{%d}\r\n" % len(data) + data if as_literal else data)
    stream = b"a CANCELUPDATE " + b" ".join(parts) + b"\r\nz NOOP\r\n"
    steps = play(stream, CommandParser())
    assert steps[-1] == command("z NOOP")
    for step in steps[:-1]:
        parsed = getattr(step, "args", None)
        if isinstance(parsed, CancelUpdate):
            assert parsed.tags and all(isinstance(tag, str) for tag in parsed.tags)
