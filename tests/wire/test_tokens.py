"""The value types IMAP and ManageSieve share, read from tokens (RFC 9051 §9, RFC 5804
§4): atom, astring, string, nstring, number; every misuse is a GrammarError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.wire.tokens import (
    MAX_NUMBER,
    GrammarError,
    Group,
    Literal,
    Quoted,
    Token,
    TokenReader,
    Word,
    decode_text,
    number_value,
    string_bytes,
)


def reader(*tokens: Token) -> TokenReader:
    return TokenReader(list(tokens))


def test_astring_is_an_atom_or_a_string() -> None:
    values = reader(Word("a"), Quoted(b"b c"), Literal(b"d\r\ne"))
    assert [values.astring(), values.astring(), values.astring()] == ["a", "b c", "d\r\ne"]
    values.end()


def test_string_is_never_an_atom_and_nstring_may_be_nil() -> None:
    with pytest.raises(GrammarError, match="Invalid string"):
        reader(Word("a")).string()
    values = reader(Word("nil"), Quoted(b"x"))
    assert values.nstring() is None and values.nstring() == "x"


def test_a_streamed_literal_is_no_string() -> None:
    assert string_bytes(Literal(b"x", message=True)) is None
    with pytest.raises(GrammarError, match="Invalid string"):
        reader(Literal(object(), message=True)).astring()


def test_strings_must_be_utf8() -> None:
    with pytest.raises(GrammarError, match="Invalid UTF-8 in string"):
        decode_text(b"\xff")


def test_numbers_are_unsigned_and_bounded() -> None:
    assert number_value(str(MAX_NUMBER)) == MAX_NUMBER
    for text, error in (("-1", "Invalid number"), ("4294967296", "Number too large")):
        with pytest.raises(GrammarError, match=error):
            number_value(text)
    with pytest.raises(GrammarError, match="Invalid number"):
        reader(Word("0")).nz_number()


def test_keywords_are_case_insensitive() -> None:
    values = reader(Word("Return"), Word("x"))
    assert values.peek_keyword() == "RETURN" and values.take_keyword("RETURN")
    assert not values.take_keyword("RETURN")
    assert values.keyword() == "X" and values.at_end()


def test_missing_and_unexpected_arguments() -> None:
    with pytest.raises(GrammarError, match="Missing argument"):
        reader().take()
    with pytest.raises(GrammarError, match="Unexpected argument"):
        reader(Word("x")).end()
    with pytest.raises(GrammarError, match="Expected a parenthesized list"):
        reader(Word("x")).group()


def test_a_group_is_read_by_the_same_kind_of_reader() -> None:
    class Extended(TokenReader):
        pass

    inner = Extended([Group([Word("a")])]).group()
    assert isinstance(inner, Extended) and inner.word() == "a"


TOKENS: st.SearchStrategy[Token] = st.recursive(
    st.one_of(
        st.builds(Word, st.text(min_size=1, max_size=10)),
        st.builds(Quoted, st.binary(max_size=10)),
        st.builds(Literal, st.binary(max_size=10)),
    ),
    lambda children: st.builds(Group, st.lists(children, max_size=4)),
    max_leaves=20,
)
READS = ("astring", "string", "nstring", "number", "nz_number", "word", "keyword", "group")


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=6), st.lists(st.sampled_from(READS), max_size=8))
def test_any_reading_of_any_tokens_gives_values_or_a_grammar_error(
    tokens: list[Token], reads: list[str]
) -> None:
    values = TokenReader(tokens)
    for read in reads:
        try:
            getattr(values, read)()
        except GrammarError as error:
            assert error.text
