"""Sequence sets as clients write them, what they name, and the compact form we write."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.imap.sequence import (
    SAVED,
    SequenceSet,
    format_set,
    ordered_set,
    parse_sequence_set,
)


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("1", ((1, 1),)),
        ("1:3,5,7:*", ((1, 3), (5, 5), (7, None))),
        ("*", ((None, None),)),
        ("*:4", ((None, 4),)),
        ("4:2", ((4, 2),)),
        ("4294967295", ((4294967295, 4294967295),)),
    ],
)
def test_sequence_set_is_parsed_as_written(text: str, ranges: tuple[object, ...]) -> None:
    assert parse_sequence_set(text) == SequenceSet(ranges)  # type: ignore[arg-type]
    assert str(parse_sequence_set(text)) == text


def test_dollar_is_the_saved_search_result() -> None:
    assert parse_sequence_set("$") == SAVED
    assert str(SAVED) == "$"
    with pytest.raises(ValueError, match="saved"):
        SAVED.resolve(10)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "1:0",
        "-1",
        "1,",
        ",1",
        "1::2",
        "1:2:3",
        "a",
        "01",
        "4294967296",
        "1 2",
        "$,1",
        "１",
        "9" * 5000,
    ],
)
def test_invalid_sequence_sets_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_sequence_set(text)


def test_too_many_ranges_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_sequence_set(",".join(["1"] * 11), max_ranges=10)


def test_star_is_the_largest_number_and_ranges_may_be_reversed() -> None:
    numbers = parse_sequence_set("2,9:*,5:4")
    assert numbers.resolve(10) == [2, 4, 5, 9, 10]
    assert numbers.bounds(10) == [(2, 2), (9, 10), (4, 5)]
    assert numbers.contains(10, 10) and not numbers.contains(3, 10)


def test_resolve_is_capped_at_the_largest_number() -> None:
    assert parse_sequence_set("1:4294967295").resolve(3) == [1, 2, 3]
    # RFC 9051 §6.4.9: `n:*` with n past the last UID still names the last one.
    assert parse_sequence_set("100:*").resolve(3) == [3]
    assert parse_sequence_set("*").resolve(0) == []


def test_exceeds_finds_sequence_numbers_past_the_end() -> None:
    assert parse_sequence_set("1:5").exceeds(4)
    assert not parse_sequence_set("1:*").exceeds(4)


@pytest.mark.parametrize(
    ("numbers", "text"),
    [
        ([], ""),
        ([5], "5"),
        ([5, 1, 2, 3, 9, 10], "1:3,5,9:10"),
        ([1, 1, 2], "1:2"),
        ([3, 7], "3,7"),
    ],
)
def test_format_set_writes_the_compact_form(numbers: list[int], text: str) -> None:
    assert format_set(numbers) == text


@given(st.sets(st.integers(1, 2**32 - 1), max_size=60))
def test_format_set_parses_back_to_the_same_numbers(numbers: set[int]) -> None:
    text = format_set(numbers)
    if not numbers:
        assert text == ""
        return
    largest = max(numbers)
    parsed = parse_sequence_set(text)
    assert all(parsed.contains(number, largest) for number in numbers)
    assert len(parsed.ranges) <= len(numbers)
    if largest < 5000:
        assert parsed.resolve(largest) == sorted(numbers)


@given(st.text(alphabet="0123456789:,*$-", max_size=30), st.integers(0, 50))
def test_any_text_is_a_set_or_a_value_error(text: str, largest: int) -> None:
    try:
        parsed = parse_sequence_set(text)
    except ValueError:
        return
    if parsed.saved:
        return
    resolved = parsed.resolve(largest)
    assert resolved == sorted(set(resolved))
    assert all(1 <= number <= largest for number in resolved)
    assert all(parsed.contains(number, largest) for number in resolved)


def test_ordered_set_keeps_the_order_and_makes_ascending_runs_ranges() -> None:
    assert ordered_set([4, 2, 3, 1, 7, 8, 9, 5]) == "4,2:3,1,7:9,5"
    assert ordered_set([]) == ""
