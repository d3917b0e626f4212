"""`:matches` (RFC 5228 §2.7.1): `*` matches any run of characters, `?` exactly one,
`\\` makes the next character literal; the whole value must match.

Matched without backtracking over the stars: the text between two stars is found at its
earliest place (the classic glob algorithm), which costs O(value × pattern) at worst,
so a hostile pattern cannot make a run take exponential time. Each star takes as few
characters as it can, as RFC 5229 §3.2's examples require (`"coyote@**.com"` leaves
`${1}` empty); the captures are what a lazy regular expression would capture, which the
property tests check against one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class _Segment:
    """The text between two stars: literal characters and `?`s, as a fixed-length
    regular expression whose groups are the `?`s."""

    regex: re.Pattern[str]
    length: int
    marks: tuple[int, ...]
    """Offsets of the `?`s in the segment (for the captures)."""


@dataclass(frozen=True)
class Wildcard:
    head: _Segment
    """Before the first star (anchored at the start)."""
    middles: tuple[_Segment, ...]
    tail: _Segment | None
    """After the last star (anchored at the end); None without stars."""
    slots: tuple[str, ...]
    """"*" or "?" for each wildcard in order, which is the order of match variables."""

    def match(self, value: str) -> tuple[str, ...] | None:
        """The values of the wildcards in order, or None when `value` does not match."""
        captures: list[str] = []
        head = self.head
        if self.tail is None:
            found = head.regex.fullmatch(value)
            return None if found is None else tuple(found.groups())
        found = head.regex.match(value)
        if found is None:
            return None
        captures.extend(found.groups())
        position = head.length
        tail = self.tail
        end = len(value) - tail.length
        if end < position:
            return None
        for segment in self.middles:
            found = segment.regex.search(value, position, end)
            if found is None:
                return None
            captures.append(value[position : found.start()])  # the star before it
            captures.extend(found.groups())
            position = found.end()
        found = tail.regex.fullmatch(value, end)
        if found is None:
            return None
        captures.append(value[position:end])
        captures.extend(found.groups())
        return tuple(captures)


def _segment(items: list[str | None], flags: int) -> _Segment:
    source = "".join("(.)" if item is None else re.escape(item) for item in items)
    marks = tuple(i for i, item in enumerate(items) if item is None)
    return _Segment(re.compile(source, flags), len(items), marks)


@lru_cache(maxsize=512)
def compile_wildcard(pattern: str, case_insensitive: bool) -> Wildcard:
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if case_insensitive else 0)
    segments: list[list[str | None]] = [[]]
    slots: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            segments[-1].append(pattern[index + 1])
            index += 2
            continue
        if char == "*":
            slots.append("*")
            segments.append([])
        elif char == "?":
            slots.append("?")
            segments[-1].append(None)
        else:
            segments[-1].append(char)
        index += 1
    compiled = [_segment(items, flags) for items in segments]
    # Captures come out in pattern order: a segment's "?"s follow the star before it.
    if len(compiled) == 1:
        return Wildcard(compiled[0], (), None, tuple(slots))
    return Wildcard(compiled[0], tuple(compiled[1:-1]), compiled[-1], tuple(slots))
