"""The shared IMAP-style lexer (RFC 9051 §4, RFC 5804 §4): lines into tokens, literal
markers, and every limit judged before memory is spent; for any input it answers with
tokens or a GrammarError, never anything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.wire.lexer import (
    Lexer,
    LexerLimits,
    LiteralMarker,
    NeedLiteral,
    literal_octets,
    split_literal_marker,
)
from mailroom.wire.tokens import MAX_NUMBER, GrammarError, Group, Quoted, Token, Word

FAST = settings(max_examples=500, deadline=None)


def lexed(body: bytes, limits: LexerLimits | None = None) -> list[Token]:
    lexer = Lexer(limits or LexerLimits())
    lexer.begin()
    lexer.count_line(body)
    lexer.lex(body)
    return lexer.items


def refusal(body: bytes, limits: LexerLimits | None = None) -> str:
    with pytest.raises(GrammarError) as raised:
        lexed(body, limits)
    return raised.value.text


def test_atoms_strings_and_lists_become_a_tree() -> None:
    assert lexed(b'PUTSCRIPT "my \\"script\\"" (a (b) NIL) 12') == [
        Word("PUTSCRIPT"),
        Quoted(b'my "script"'),
        Group([Word("a"), Group([Word("b")]), Word("NIL")]),
        Word("12"),
    ]


def test_eight_bit_atoms_must_be_utf8() -> None:
    assert lexed("café".encode()) == [Word("café")]
    assert refusal(b"caf\xe9") == "Invalid UTF-8 in atom"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'"open', "Missing '\"'"),
        (b'"a\\x"', "Invalid escape in quoted string"),
        (b'"a\x00b"', "Invalid characters in quoted string"),
        (b"a )", "Unexpected ')'"),
        (b"a {", "Invalid characters in atom"),
    ],
)
def test_malformed_lines_are_refused_with_the_reason(body: bytes, text: str) -> None:
    assert refusal(body) == text


def test_nesting_tokens_and_command_size_are_bounded() -> None:
    assert refusal(b"((((x))))", LexerLimits(max_depth=3)) == "Too deep parameter nesting"
    assert refusal(b"x " * 11, LexerLimits(max_tokens=10)) == "Too many arguments"
    assert refusal(b"x" * 101, LexerLimits(max_command=100)) == "Command too long"


@pytest.mark.parametrize(
    ("line", "body", "marker", "bad"),
    [
        (b"a LOGIN {12}", b"a LOGIN ", LiteralMarker(12, True, False), False),
        (b"PUTSCRIPT x {5+}", b"PUTSCRIPT x ", LiteralMarker(5, False, False), False),
        (b"a APPEND INBOX ~{7}", b"a APPEND INBOX ", LiteralMarker(7, True, True), False),
        (b"a LOGIN {x}", b"a LOGIN ", None, True),
        (b"a LOGIN {-1}", b"a LOGIN ", None, True),
        (b"a NOOP", b"a NOOP", None, False),
        (b"a {1} b", b"a {1} b", None, False),
    ],
)
def test_a_literal_is_announced_at_the_end_of_a_line(
    line: bytes, body: bytes, marker: LiteralMarker | None, bad: bool
) -> None:
    assert split_literal_marker(line) == (body, marker, bad)


def test_a_literal_size_of_many_digits_is_never_converted() -> None:
    _, marker, _ = split_literal_marker(b"x {" + b"9" * 5000 + b"}")
    assert marker == LiteralMarker(MAX_NUMBER + 1, True, False)


def test_an_ordinary_literal_is_counted_or_refused_before_any_octet() -> None:
    lexer = Lexer(LexerLimits(max_literal=10, max_command=30))
    lexer.begin()
    lexer.count_line(b"x" * 10)
    assert lexer.take_literal(LiteralMarker(11, True, False)) == "Literal too large"
    assert lexer.take_literal(LiteralMarker(10, True, False)) is None
    assert lexer.size == 20
    assert lexer.take_literal(LiteralMarker(10, False, False)) is None
    assert lexer.take_literal(LiteralMarker(1, False, False)) == "Command too long"


def test_literal_minus_bounds_non_synchronizing_literals() -> None:
    lexer = Lexer(LexerLimits(max_nonsynchronizing_literal=4096))
    assert not lexer.nonsynchronizing_too_large(LiteralMarker(4096, False, False))
    assert lexer.nonsynchronizing_too_large(LiteralMarker(4097, False, False))
    assert not lexer.nonsynchronizing_too_large(LiteralMarker(4097, True, False))
    assert not Lexer(LexerLimits()).nonsynchronizing_too_large(LiteralMarker(10**9, False, False))


def test_dropping_a_literal_after_a_refusal_is_bounded_too() -> None:
    lexer = Lexer(LexerLimits(max_literal=100, max_command=150))
    assert lexer.may_drop(LiteralMarker(100, False, False))
    assert not lexer.may_drop(LiteralMarker(100, False, False))
    assert lexer.size == 100


def test_literal_octets_are_checked() -> None:
    assert literal_octets(bytearray(b"abc"), NeedLiteral(3, True)) == b"abc"
    with pytest.raises(GrammarError, match="NUL in literal"):
        literal_octets(b"a\x00c", NeedLiteral(3, True))
    assert literal_octets(b"a\x00c", NeedLiteral(3, True, binary=True)) == b"a\x00c"
    with pytest.raises(ValueError):
        literal_octets(b"ab", NeedLiteral(3, True))
    with pytest.raises(TypeError):
        literal_octets("abc", NeedLiteral(3, True))


def test_reset_forgets_the_command() -> None:
    lexer = Lexer(LexerLimits())
    lexer.begin()
    lexer.count_line(b"a (b")
    lexer.lex(b"a (b")
    lexer.reset()
    assert not lexer.started and lexer.size == 0 and lexer.tokens == 0


# --- Hostile input --------------------------------------------------------------------

LIMITS = LexerLimits(max_depth=8, max_tokens=50, max_command=2000)


def count_tokens(tokens: list[Token]) -> int:
    return sum(1 + (count_tokens(t.items) if isinstance(t, Group) else 0) for t in tokens)


@FAST
@given(st.binary(max_size=400))
def test_any_line_gives_tokens_within_the_limits_or_a_grammar_error(body: bytes) -> None:
    lexer = Lexer(LIMITS)
    lexer.begin()
    lexer.count_line(body)
    try:
        lexer.lex(body)
    except GrammarError as error:
        assert error.text and "\r" not in error.text and "\n" not in error.text
        return
    assert count_tokens(lexer.items) == lexer.tokens <= LIMITS.max_tokens
    assert len(lexer.stack) <= LIMITS.max_depth + 1


@settings(max_examples=50, deadline=None)
@given(st.sampled_from([b"(", b"(x ", b"((", b"( ("]), st.integers(10, 5000))
def test_deep_nesting_is_refused_without_recursion_errors(piece: bytes, depth: int) -> None:
    assert refusal(piece * depth + b"x", LIMITS) in (
        "Too deep parameter nesting",
        "Command too long",
    )


@FAST
@given(st.binary().filter(lambda data: not set(data) & {0, 10, 13}))
def test_a_quoted_string_comes_back_as_written(data: bytes) -> None:
    quoted = b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    assert lexed(quoted) == [Quoted(data)]


@FAST
@given(st.integers(0, 10**30), st.booleans(), st.booleans())
def test_any_announced_size_is_read_without_converting_huge_numbers(
    size: int, synchronizing: bool, binary: bool
) -> None:
    line = b"x %s{%d%s}" % (b"~" if binary else b"", size, b"" if synchronizing else b"+")
    body, marker, bad = split_literal_marker(line)
    assert body == b"x " and not bad
    # Ten digits are converted; more are over every limit, and stand for MAX_NUMBER + 1.
    expected = size if len(str(size)) <= 10 else MAX_NUMBER + 1
    assert marker == LiteralMarker(expected, synchronizing, binary)
