"""POSIX patterns turned into Python's: the places where the two dialects differ."""

from __future__ import annotations

import pytest

from mailroom.message.posix_regex import PosixRegexError, compile_posix, translate


def matches(pattern: str, text: str, **flags: bool) -> bool:
    return compile_posix(pattern, **flags).search(text) is not None


def test_backslash_in_brackets_is_literal() -> None:
    assert matches(r"^[\.]$", "\\")
    assert matches(r"^[\.]$", ".")


def test_character_classes_are_ascii_sets() -> None:
    assert matches("^[[:alnum:]_]+$", "Abc_123")
    assert not matches("^[[:digit:]]$", "x")
    assert matches("^[^[:space:]]+$", "no-space")
    assert matches("^[[:punct:]]+$", "!-/[`{~")


def test_single_character_collating_elements() -> None:
    assert matches("^[[.-.]a]+$", "a-a")
    assert matches("^[[=e=]]$", "e")
    with pytest.raises(PosixRegexError, match="only single characters"):
        translate("[[.space.]]")


def test_dollar_is_the_very_end_not_before_a_final_newline() -> None:
    assert not matches("^a$", "a\n")
    assert matches("^a$", "a\n", multiline=True)


def test_dot_matches_a_newline_unless_multiline() -> None:
    assert matches("^a.b$", "a\nb")
    assert not matches("^a.b$", "a\nb", multiline=True)


def test_backreference_followed_by_a_digit_is_not_group_twelve() -> None:
    assert matches(r"^(a)\12$", "aa2")


def test_word_boundaries_of_glibc() -> None:
    assert matches(r"\<post", "a postmaster")
    assert not matches(r"\<master", "postmaster")
    assert matches(r"master\>", "postmaster")


def test_case_insensitive_by_default_and_sensitive_on_request() -> None:
    assert matches("^abc$", "ABC")
    assert not matches("^abc$", "ABC", ignore_case=False)


@pytest.mark.parametrize(
    ("pattern", "text"),
    [(r"a\{2\}", "aa"), (r"\(ab\)*c", "ababc"), (r"a\|b", "b"), ("a{2}", "a{2}"), ("(a)", "(a)")],
)
def test_basic_syntax_reads_gnu_escapes(pattern: str, text: str) -> None:
    assert matches(f"^{pattern}$", text, extended=False)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("\\", "ends with a backslash"),
        ("(a", "never closed"),
        (r"\(a", "never closed"),
        (r"\)", "without an opening"),
        ("a+*", "two repetition operators"),
        ("x|*", "nothing to repeat"),
        (r"a\b*", "nothing to repeat"),
        ("a{99999}", "larger than 32767"),
        ("[[:alpha:]-z]", "cannot start a range"),
        ("[a-[:digit:]]", "cannot end a range"),
        ("[[:alpha", "never closed"),
        ("[[.a", "never closed"),
        (r"\n", "a newline cannot occur"),
    ],
)
def test_what_is_not_posix_is_refused(pattern: str, message: str) -> None:
    with pytest.raises(PosixRegexError, match=message):
        compile_posix(pattern, extended="\\(" not in pattern and pattern != r"\)")
