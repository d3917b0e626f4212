"""IMAP sequence sets: `1:3,5,7:*`, `*` and `$` (RFC 9051 §9 sequence-set; RFC 5182).

A SequenceSet names messages by sequence number or by UID; which of the two is
the command's to say. `*` is the largest number in use, `$` the result saved by
an earlier `SEARCH RETURN (SAVE)` (the session substitutes it before resolving).
`format_set` writes a sorted list of numbers back in the compact form that
COPYUID, VANISHED and ESEARCH answers use. Pure: no mailbox, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_NUMBER = 2**32 - 1
"""RFC 9051 §9: nz-number is a 32-bit unsigned value."""

_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_STAR = None


@dataclass(frozen=True)
class SequenceSet:
    """Ranges of numbers, each `(low, high)` as written (`None` stands for `*`).

    A single number `5` is the range `(5, 5)`, `*` is `(None, None)`, and `4:2` is
    kept as written: RFC 9051 §9 says `4:2` and `2:4` name the same messages.
    `saved` is the `$` of RFC 5182 (then `ranges` is empty).
    """

    ranges: tuple[tuple[int | None, int | None], ...] = ()
    saved: bool = False

    def bounds(self, largest: int) -> list[tuple[int, int]]:
        """The ranges with `*` replaced by `largest`, each as (low, high) with low <= high."""
        self._not_saved()
        result = []
        for first, last in self.ranges:
            low = largest if first is None else first
            high = largest if last is None else last
            result.append((min(low, high), max(low, high)))
        return result

    def contains(self, number: int, largest: int) -> bool:
        """Whether `number` is in the set when `*` stands for `largest`."""
        return any(low <= number <= high for low, high in self.bounds(largest))

    def resolve(self, largest: int) -> list[int]:
        """The numbers of the set that are at most `largest`, sorted, without repeats.

        Capped at `largest` so that `1:4294967295` never becomes four billion ints;
        numbers above `largest` are the caller's to refuse (sequence numbers) or to
        ignore (UIDs), see `exceeds`.
        """
        numbers: set[int] = set()
        for low, high in self.bounds(largest):
            numbers.update(range(max(low, 1), min(high, largest) + 1))
        return sorted(numbers)

    def exceeds(self, largest: int) -> bool:
        """Whether an explicit number in the set is above `largest` (RFC 9051 §7.1's
        "invalid sequence number" for message sequence numbers)."""
        self._not_saved()
        return any(
            number is not None and number > largest
            for first, last in self.ranges
            for number in (first, last)
        )

    def __str__(self) -> str:
        if self.saved:
            return "$"
        return ",".join(
            _range_text(first) if first == last else f"{_range_text(first)}:{_range_text(last)}"
            for first, last in self.ranges
        )

    def _not_saved(self) -> None:
        if self.saved:
            raise ValueError("`$` must be replaced by the saved search result first")


SAVED = SequenceSet(saved=True)
"""RFC 5182 `$`: the result of the last `SEARCH RETURN (SAVE)`."""


def _range_text(number: int | None) -> str:
    return "*" if number is None else str(number)


def _seq_number(text: str) -> int | None:
    """RFC 9051 seq-number = nz-number / "*"; ValueError for anything else."""
    if text == "*":
        return _STAR
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"invalid sequence number {text[:20]!r}")
    number = int(text)
    if number > MAX_NUMBER:
        raise ValueError("sequence number too large")
    return number


def parse_sequence_set(text: str, *, max_ranges: int = 1000) -> SequenceSet:
    """`1:3,5,7:*`, `*` or `$` into a SequenceSet; ValueError when it is not one.

    `max_ranges` bounds the comma-separated elements (a line could hold thousands).
    """
    if text == "$":
        return SAVED
    elements = text.split(",")
    if len(elements) > max_ranges:
        raise ValueError("too many ranges")
    ranges = []
    for element in elements:
        first, colon, last = element.partition(":")
        low = _seq_number(first)
        high = _seq_number(last) if colon else low
        ranges.append((low, high))
    return SequenceSet(tuple(ranges))


def format_set(numbers: Iterable[int]) -> str:
    """The compact form of some numbers: [5, 1, 2, 3, 9, 10] → `1:3,5,9:10` ("" if none)."""
    return ordered_set(sorted(set(numbers)))


def ordered_set(numbers: Sequence[int]) -> str:
    """A set that keeps the order of `numbers` (a SORT result): ascending runs become
    ranges, [4, 2, 3, 1] → `4,2:3,1`."""
    parts: list[str] = []
    index = 0
    while index < len(numbers):
        start = end = numbers[index]
        while index + 1 < len(numbers) and numbers[index + 1] == end + 1:
            index += 1
            end = numbers[index]
        parts.append(str(start) if start == end else f"{start}:{end}")
        index += 1
    return ",".join(parts)
