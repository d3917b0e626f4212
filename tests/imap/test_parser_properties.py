"""Hostile input for the IMAP command reader: whatever a client sends, the parser answers
with a Command, a NeedLiteral within the limits, or a CommandError, never raises, never
asks for more memory than its limits, and stays in step with the client afterwards."""

from __future__ import annotations

import sys
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.commands import Command, ListMailboxes, Login, Search
from mailroom.imap.parser import CommandError, CommandParser, NeedLiteral, ParserLimits, Step
from mailroom.imap.search_keys import And, Body, Header
from mailroom.imap.wire import serialize
from tests.support.imap_commands import command, refusal

FAST = settings(max_examples=500, deadline=None)
LIMITS = ParserLimits(max_literal=2000, max_append_literal=5000, max_command=20_000)


def drive(stream: bytes, parser: CommandParser, limits: ParserLimits = LIMITS) -> list[Step]:
    """Play a session that honours every literal the parser asks for (and checks it)."""
    steps: list[Step] = []
    position = 0
    while position < len(stream):
        last = steps[-1] if steps else None
        if isinstance(last, NeedLiteral):
            maximum = limits.max_append_literal if last.message else limits.max_literal
            assert 0 <= last.size <= maximum
            data = stream[position : position + last.size]
            if len(data) < last.size:
                break
            position += last.size
            parser.feed_literal(data)
        end = stream.find(b"\r\n", position)
        end = len(stream) if end < 0 else end
        step = parser.feed_line(stream[position:end])
        assert isinstance(step, Command | NeedLiteral | CommandError)
        if isinstance(step, CommandError):
            assert step.text and "\r" not in step.text and "\n" not in step.text
            assert step.tag is None or (step.tag and "+" not in step.tag and " " not in step.tag)
            if step.fatal:
                steps.append(step)
                return steps
        if isinstance(step, Command):
            assert step.name == step.name.upper()
        assert parser.lexer.size <= limits.max_command  # one command's octets, bounded
        steps.append(step)
        position = end + 2
    return steps


def still_in_step(parser: CommandParser, steps: list[Step]) -> None:
    """After whatever came before, a new command is read as itself."""
    if steps and isinstance(steps[-1], NeedLiteral):
        parser.feed_literal(b"x" * steps[-1].size if not steps[-1].message else object())
        parser.feed_line(b"")
    if steps and isinstance(steps[-1], CommandError) and steps[-1].fatal:
        return
    parser.reset()
    assert parser.feed_line(b"z NOOP") == Command("z", "NOOP", False)


@FAST
@given(st.binary(max_size=400))
def test_random_bytes(stream: bytes) -> None:
    parser = CommandParser(LIMITS)
    still_in_step(parser, drive(stream, parser))


@FAST
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_random_lines_after_a_tag(lines: list[bytes]) -> None:
    parser = CommandParser(LIMITS)
    drive(b"\r\n".join(b"t " + line for line in lines), parser)


COMMANDS = [
    "LOGIN", "AUTHENTICATE", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "LIST", "LSUB",
    "STATUS", "APPEND", "FETCH", "UID FETCH", "STORE", "UID STORE", "SEARCH", "UID SEARCH", "SORT",
    "THREAD", "COPY", "MOVE", "UID EXPUNGE", "EXPUNGE", "ENABLE", "ID", "SETQUOTA", "GETQUOTA",
    "NOOP", "IDLE", "COMPRESS", "UID", "XYZZY", "", "CANCELUPDATE", "UID SORT",
]  # fmt: skip
PIECES = [
    " ", "  ", "(", ")", "((", "))", '"', '\\"', "\\\\", "\\", "{", "}", "~", "{0}\r\n", "{1}\r\nx",
    "{3+}\r\nabc", "{5}\r\n", "{-1}\r\n", "{99999999999}\r\n", "{99999999999+}\r\n", "~{2}\r\nab",
    "~{2+}\r\n\x00\x01", "{1}\r\n\x00", "{2001}\r\n", "{4999+}\r\n", "{+}\r\n", "\r\n", "\x00",
    "*", "$", "%", "1", "0", "1:*", "1:3,5", "4294967296", "9" * 30, "1:0", ",", ":", "-1",
    "INBOX", "NIL", "nil", "ALL", "FAST", "FULL", "FLAGS", "+FLAGS.SILENT", "\\Seen", "\\Recent",
    "\\Bogus", "$Label", "BODY[", "BODY[]", "BODY.PEEK[HEADER.FIELDS", "]", "]<0.10>", "<1.0>",
    "BODY[1.2.MIME]", "BINARY[1]", "BINARY.SIZE[", "RFC822", "ENVELOPE", "UID", "MODSEQ",
    "CHANGEDSINCE", "VANISHED", "UNCHANGEDSINCE", "OR", "NOT", "FROM", "HEADER", "SINCE",
    "1-Feb-1994", "30-Feb-2024", '"01-Jan-2000 10:00:00 +0100"', "LARGER", "KEYWORD", "RETURN",
    "MIN", "COUNT", "SAVE", "CHARSET", "UTF-8", "UTF8", "REVERSE", "DATE", "REFERENCES",
    "QRESYNC", "CONDSTORE", "USE", "\\Sent", "SUBSCRIBED", "RECURSIVEMATCH", "STATUS", "MESSAGES",
    "STORAGE", "DEFLATE", "PLAIN", "=", "ü", "\xff", "\t", "UPDATE", "PARTIAL", "CONTEXT",
    "1:500", "-1:-10", "0:1", '"a1"',
]  # fmt: skip


@st.composite
def hostile_streams(draw: st.DrawFn) -> bytes:
    """Several commands shaped like real ones, with hostile parts and random line breaks."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        tag = draw(st.sampled_from(["a1", "*", "+", "a+b", "", "A]"]))
        name = draw(st.sampled_from(COMMANDS))
        name = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in name)
        pieces = draw(st.lists(st.sampled_from(PIECES), max_size=30))
        out.append(f"{tag} {name} " + " ".join(pieces) + "\r\n")
    return "".join(out).encode("utf-8", errors="surrogateescape")


@FAST
@given(hostile_streams())
def test_hostile_commands(stream: bytes) -> None:
    parser = CommandParser(LIMITS)
    still_in_step(parser, drive(stream, parser))


SHAPES = {
    "FETCH": [
        "1:*", "2,4:6", "$", "FLAGS", "(FLAGS UID)", "BODY.PEEK[HEADER.FIELDS", "(To {2}\r\ncc)",
        "]<0.10>", "BODY[1.2.MIME]", "BINARY[1]<0.5>", "BINARY.SIZE[]", "ALL", "(ALL)",
        "(CHANGEDSINCE 5 VANISHED)", "(CHANGEDSINCE", "9223372036854775808)", "BODY[]<0.0>",
    ],
    "UID STORE": [
        "1:*", "FLAGS", "+FLAGS.SILENT", "-FLAGS", "(\\Seen $Junk)", "\\Deleted",
        "(UNCHANGEDSINCE 7)", "()", "(\\Recent)", "(a]b)",
    ],
    "SEARCH": [
        "RETURN (MIN MAX)", "CHARSET UTF-8", "OR", "NOT", "(", ")", "SEEN", "FROM {3+}\r\nbob",
        "SINCE 1-Feb-1994", 'SENTON "30-Feb-2024"', "UID 1:*", "1:3", "MODSEQ 5",
        'MODSEQ "/flags/\\\\seen" all 5', "HEADER X {0}\r\n", "LARGER 99999999999",
        "RETURN (UPDATE PARTIAL 1:5 CONTEXT)", "RETURN (PARTIAL", "4:2)", "RETURN (UPDATE (FLAGS))",
    ],
    "CANCELUPDATE": ['"a1"', '"b"', "a1", "{2}\r\nab", '""', "(", ")"],
    "APPEND": [
        "INBOX", "(\\Seen)", '" 1-Jan-2020 00:00:00 +0000"', "{3}\r\nabc",
        "{2+}\r\nab", "UTF8 (~{3}\r\nabc)", "~{1}\r\n\x00", "UTF8", "({1}\r\nx)",
    ],
    "LIST": [
        "(SUBSCRIBED)", '""', "*", "%", "(INBOX Sent)", "RETURN (CHILDREN STATUS (MESSAGES))",
        "RETURN ()", "(RECURSIVEMATCH)", "(RECURSIVEMATCH REMOTE)", "~/",
    ],
    "SELECT": [
        "INBOX", "(CONDSTORE)", "(QRESYNC (1 2 1:5 (1:2 3:4)))", "(QRESYNC (1))", "(QRESYNC",
    ],
}  # fmt: skip


@st.composite
def shaped_streams(draw: st.DrawFn) -> bytes:
    """One command with arguments drawn mostly from its own grammar."""
    name = draw(st.sampled_from(sorted(SHAPES)))
    vocabulary = SHAPES[name] + draw(st.lists(st.sampled_from(PIECES), max_size=2))
    pieces = draw(st.lists(st.sampled_from(vocabulary), max_size=10))
    return f"a {name} {' '.join(pieces)}\r\n".encode("utf-8", errors="surrogateescape")


@FAST
@given(shaped_streams())
def test_commands_shaped_by_their_grammar(stream: bytes) -> None:
    parser = CommandParser(LIMITS)
    still_in_step(parser, drive(stream, parser))


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(["(", "NOT ", "OR ", "((NOT ", "BODY[HEADER.FIELDS ("]), st.integers(70, 5000)
)
def test_deep_nesting_is_refused_without_recursion_errors(piece: str, depth: int) -> None:
    line = f"a SEARCH {piece * depth}SEEN".encode()
    step = CommandParser().feed_line(line)
    assert isinstance(step, CommandError) and not step.fatal
    assert depth < sys.getrecursionlimit() * 10


@FAST
@given(st.integers(0, 10**30), st.booleans(), st.sampled_from(["", "~"]), st.booleans())
def test_literal_sizes_are_judged_before_any_octet(
    size: int, synchronizing: bool, binary: str, append: bool
) -> None:
    command_start = "a APPEND INBOX" if append else "a LOGIN"
    plus = "" if synchronizing else "+"
    line = f"{command_start} {binary}{{{size}{plus}}}".encode()
    parser = CommandParser(LIMITS)
    step = parser.feed_line(line)
    maximum = LIMITS.max_append_literal if append else LIMITS.max_literal
    if size <= maximum and (append or not binary):
        assert step == NeedLiteral(size, synchronizing, append, bool(binary))
    elif synchronizing:
        # Refused: the client waits for a `+` that does not come.
        assert isinstance(step, CommandError) and not step.fatal
    elif size <= LIMITS.max_literal:
        # Refused, but small: read and dropped, then the command is refused.
        assert step == NeedLiteral(size, False, False, bool(binary))
        parser.feed_literal(b"x" * size)
        refused = parser.feed_line(b"")
        assert isinstance(refused, CommandError) and not refused.fatal
    else:
        assert isinstance(step, CommandError) and step.fatal


# --- The same command, however its strings are sent -----------------------------------

STRINGS = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30
)


def as_string(draw: Callable[[st.SearchStrategy[str]], str], text: str) -> bytes:
    """`text` as a client may send it: quoted (when it can be), or a literal of any kind."""
    data = text.encode("utf-8")
    kind = draw(st.sampled_from(["serialize", "sync", "nonsync"]))
    if kind == "serialize":
        return serialize(text, utf8=True)
    return b"{%d%s}\r\n" % (len(data), b"" if kind == "sync" else b"+") + data


@FAST
@given(st.data(), STRINGS, STRINGS)
def test_login_strings_in_any_form(data: st.DataObject, user: str, password: str) -> None:
    stream = (
        b"a LOGIN " + as_string(data.draw, user) + b" " + as_string(data.draw, password) + b"\r\n"
    )
    assert command(stream).args == Login(user, password)


@FAST
@given(
    st.data(),
    st.lists(st.tuples(st.sampled_from(["FROM", "TO", "BODY"]), STRINGS), min_size=1, max_size=5),
)
def test_search_strings_in_any_form(data: st.DataObject, keys: list[tuple[str, str]]) -> None:
    stream = b"a SEARCH CHARSET UTF-8"
    expected = []
    for name, text in keys:
        stream += b" " + name.encode() + b" " + as_string(data.draw, text)
        expected.append(Body(text) if name == "BODY" else Header(name, text))
    parsed = command(stream + b"\r\n").args
    key = expected[0] if len(expected) == 1 else And(tuple(expected))
    assert parsed == Search(key, "UTF-8")


# --- LIST selection options -----------------------------------------------------------------


@FAST
@given(
    st.lists(
        st.sampled_from(["SUBSCRIBED", "remote", "RecursiveMatch", "SPECIAL-USE"]),
        min_size=1,
        max_size=5,
    )
)
def test_recursivematch_is_refused_without_an_option_it_modifies(options: list[str]) -> None:
    # RFC 5258 §3.1: RECURSIVEMATCH alone or only with REMOTE is BAD; SUBSCRIBED (and
    # SPECIAL-USE, as Dovecot has it) give it something to modify.
    stream = f'a LIST ({" ".join(options)}) "" *'
    selection = frozenset(option.upper() for option in options)
    if "RECURSIVEMATCH" in selection and not selection & {"SUBSCRIBED", "SPECIAL-USE"}:
        assert refusal(stream).text == "RECURSIVEMATCH needs another selection option"
    else:
        assert command(stream).args == ListMailboxes("", ("*",), selection, extended=True)
