"""The ManageSieve command reader and response writer, without a socket: what each line
and literal becomes, the limits judged before a literal is read, and hostile input
(huge literals, deep junk, invalid UTF-8) that must end in an error, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.managesieve.commands import (
    Authenticate,
    Capability,
    CheckScript,
    Command,
    DeleteScript,
    GetScript,
    HaveSpace,
    ListScripts,
    Logout,
    Noop,
    PutScript,
    RenameScript,
    SetActive,
    StartTls,
    Unauthenticate,
)
from mailroom.managesieve.reader import (
    CommandError,
    CommandReader,
    ReaderLimits,
    SkipLiteral,
    Step,
    sasl_response,
)
from mailroom.managesieve.responses import capability, status, string
from mailroom.wire.lexer import NeedLiteral
from mailroom.wire.tokens import GrammarError

LIMITS = ReaderLimits(max_script_size=1000, max_string=100)


def read(*pieces: bytes, limits: ReaderLimits = LIMITS) -> Step:
    """Feed lines and literals as a session would: after a NeedLiteral the next piece is
    its octets; after a SkipLiteral the next piece is thrown away."""
    reader = CommandReader(limits)
    items = list(pieces)
    step = reader.feed_line(items.pop(0))
    while isinstance(step, NeedLiteral | SkipLiteral):
        octets = items.pop(0)
        assert len(octets) == step.size
        if isinstance(step, NeedLiteral):
            reader.feed_literal(octets)
        else:
            reader.literal_skipped()
        step = reader.feed_line(items.pop(0))
    assert not items
    return step


@pytest.mark.parametrize(
    ("pieces", "command"),
    [
        ((b"CAPABILITY",), Capability()),
        ((b"capability",), Capability()),
        ((b"STARTTLS",), StartTls()),
        ((b"LOGOUT",), Logout()),
        ((b'AUTHENTICATE "PLAIN"',), Authenticate("PLAIN", None)),
        ((b'AUTHENTICATE "PLAIN" "AGEAYg=="',), Authenticate("PLAIN", b"AGEAYg==")),
        ((b'Authenticate "LOGIN" {4+}', b"YWJj", b""), Authenticate("LOGIN", b"YWJj")),
        ((b'HAVESPACE "main" 1000',), HaveSpace("main", 1000)),
        ((b'PUTSCRIPT "main" {7+}', b"keep;\r\n", b""), PutScript("main", b"keep;\r\n")),
        ((b'PUTSCRIPT "main" {7}', b"keep;\r\n", b""), PutScript("main", b"keep;\r\n")),
        ((b'PUTSCRIPT "main" "keep;"',), PutScript("main", b"keep;")),
        ((b"PUTSCRIPT {4+}", b"m\xc3\xa9n", b' "x"'), PutScript("mén", b"x")),
        ((b"CHECKSCRIPT {5+}", b"keep;", b""), CheckScript(b"keep;")),
        ((b"LISTSCRIPTS",), ListScripts()),
        ((b'SETACTIVE ""',), SetActive("")),
        ((b'SETACTIVE "vacation"',), SetActive("vacation")),
        ((b'GETSCRIPT "a \\"quoted\\" name"',), GetScript('a "quoted" name')),
        ((b'DELETESCRIPT "old"',), DeleteScript("old")),
        ((b'RENAMESCRIPT "old" "new"',), RenameScript("old", "new")),
        ((b"NOOP",), Noop(None)),
        ((b'NOOP "STARTTLS-SYNC-42"',), Noop("STARTTLS-SYNC-42")),
        ((b"UNAUTHENTICATE",), Unauthenticate()),
    ],
)
def test_commands_are_read(pieces: tuple[bytes, ...], command: Command) -> None:
    assert read(*pieces) == command


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (b"", "Missing command."),
        (b"FROBNICATE", "Unknown command."),
        (b"1 CAPABILITY", "Unknown command."),
        (b"GETSCRIPT main", "Expected a string."),
        (b"GETSCRIPT", "Missing argument."),
        (b'GETSCRIPT "a" "b"', "Too many arguments."),
        (b'HAVESPACE "a" -1', "Invalid number."),
        (b'HAVESPACE "a" 99999999999', "Invalid number."),
        (b'HAVESPACE "a" "12"', "Expected a number."),
        (b'GETSCRIPT "unterminated', "Missing '\"'."),
        (b'GETSCRIPT "\xff\xfe"', "Invalid UTF-8 in string."),
        (b"GETSCRIPT (", "Parentheses are not ManageSieve arguments."),
        (b"GETSCRIPT ((", "Too deep parameter nesting."),
        (b"PUTSCRIPT {x+}", "Invalid literal size."),
    ],
)
def test_bad_commands_get_a_reason(line: bytes, text: str) -> None:
    step = read(line)
    assert step == CommandError(text)


def test_a_script_literal_over_the_limit_is_refused_with_quota_maxsize_before_reading() -> None:
    reader = CommandReader(LIMITS)
    step = reader.feed_line(b'PUTSCRIPT "big" {1001+}')
    assert step == SkipLiteral(1001)  # the octets are dropped, never kept
    reader.literal_skipped()
    assert reader.feed_line(b"") == CommandError(
        "Script is too large (max 1000 octets).", "QUOTA/MAXSIZE"
    )


def test_a_script_literal_too_large_to_skip_ends_the_connection() -> None:
    reader = CommandReader(LIMITS)
    huge = LIMITS.max_skip + 1
    step = reader.feed_line(b'PUTSCRIPT "big" {%d+}' % huge)
    assert step == CommandError("Script is too large (max 1000 octets).", "QUOTA/MAXSIZE", True)


def test_a_name_literal_is_held_to_the_string_limit() -> None:
    assert read(b"GETSCRIPT {101+}", b"x" * 101, b"") == CommandError("Literal too large.")


def test_a_literal_with_nul_is_refused() -> None:
    assert read(b"CHECKSCRIPT {3+}", b"a\x00b", b"") == CommandError("NUL in literal.")


def test_a_refused_command_still_skips_its_later_literals() -> None:
    step = read(b"FROBNICATE {3+}", b"abc", b"{2+}", b"de", b"")
    assert step == CommandError("Unknown command.")


def test_the_reader_is_ready_for_the_next_command_after_an_error() -> None:
    reader = CommandReader(LIMITS)
    assert isinstance(reader.feed_line(b"NOPE"), CommandError)
    assert reader.feed_line(b"LISTSCRIPTS") == ListScripts()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'"dGVzdA=="', b"dGVzdA=="),
        (b'"*"', b"*"),
        (b"dGVzdA==", b"dGVzdA=="),
        (b'""', b""),
        (b"{8+}", NeedLiteral(8, synchronizing=False)),
    ],
)
def test_sasl_responses_are_strings(line: bytes, expected: object) -> None:
    assert sasl_response(line) == expected


@pytest.mark.parametrize("line", [b"", b'"a" "b"', b"(x)", b"{99999999+}", b'"unterminated'])
def test_bad_sasl_responses_are_refused(line: bytes) -> None:
    with pytest.raises(GrammarError):
        sasl_response(line)


def test_strings_are_quoted_when_they_can_be_and_literals_otherwise() -> None:
    assert string("main") == b'"main"'
    assert string('say "hi" \\') == b'"say \\"hi\\" \\\\"'
    assert string(b"line 1\r\nline 2") == b"{14}\r\nline 1\r\nline 2"
    assert string("x" * 1025) == b"{1025}\r\n" + b"x" * 1025


def test_status_lines_carry_response_codes() -> None:
    assert status("OK") == b"OK\r\n"
    assert status("NO", "Gone.", "NONEXISTENT") == b'NO (NONEXISTENT) "Gone."\r\n'
    assert status("OK", "Done", "TAG", "t1") == b'OK (TAG "t1") "Done"\r\n'
    assert status("BYE", "Bye.", "TRYLATER") == b'BYE (TRYLATER) "Bye."\r\n'
    assert capability("VERSION", "1.0") == b'"VERSION" "1.0"\r\n'
    with pytest.raises(ValueError):
        status("MAYBE")
    with pytest.raises(ValueError):
        status("NO", "x", "bad code")


# -- hostile input ----------------------------------------------------------------------

_JUNK = st.binary(max_size=300) | st.sampled_from(
    [
        b"(" * 200,
        b'PUTSCRIPT "x" {4294967295+}',
        b"PUTSCRIPT {99999999999999999999+}",
        b'"' * 50,
        b"\xff\xfe\x00",
        b"GETSCRIPT ~{5}",
        b'NOOP "\\q"',
        b"{5+}",
    ]
)


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(_JUNK, min_size=1, max_size=8), literal=st.binary(max_size=200))
def test_hostile_lines_end_in_a_command_or_an_error_never_a_crash(
    lines: list[bytes], literal: bytes
) -> None:
    reader = CommandReader(LIMITS)
    for line in lines:
        line = line.replace(b"\r", b"").replace(b"\n", b"")
        step = reader.feed_line(line)
        while isinstance(step, NeedLiteral | SkipLiteral):
            # Never asked to hold more than the limits allow.
            assert step.size <= max(LIMITS.max_script_size, LIMITS.max_skip)
            if isinstance(step, NeedLiteral):
                assert step.size <= LIMITS.max_script_size
                reader.feed_literal(
                    (literal * (step.size // max(len(literal), 1) + 1))[: step.size]
                    if literal
                    else b"x" * step.size
                )
            else:
                reader.literal_skipped()
            step = reader.feed_line(b"")
        assert isinstance(step, CommandError) or not reader.in_command
        if isinstance(step, CommandError):
            assert step.text and "\n" not in step.text


@settings(max_examples=200, deadline=None)
@given(line=st.binary(max_size=200))
def test_hostile_sasl_responses_end_in_octets_or_an_error(line: bytes) -> None:
    try:
        response = sasl_response(line.replace(b"\r", b"").replace(b"\n", b""))
    except GrammarError:
        return
    if isinstance(response, NeedLiteral):
        assert response.size <= 16 * 1024
    else:
        assert isinstance(response, bytes)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=2000) | st.binary(max_size=2000))
def test_every_string_written_reads_back_the_same(text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    written = string(text)
    if written.startswith(b'"'):
        assert written[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\") == data
    else:
        header, _, body = written.partition(b"\r\n")
        assert header == b"{%d}" % len(data) and body == data
