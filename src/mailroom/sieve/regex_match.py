"""`:regex` (draft-ietf-sieve-regex-01): POSIX extended regular expressions, searched
anywhere in the value; `${0}` is the matched text and `${1}`… its groups.

The pattern is translated by `mailroom.message.posix_regex` (the same translation
routing's regexp tables use) and run by Python's `re`, which backtracks. The defence
against a pattern that takes exponential or high polynomial time (ReDoS), since `re`
cannot be interrupted once it runs:
- a pattern is at most `SieveLimits.max_regex_length` characters;
- a repetition or an alternation inside a repeated group (`(a+)+`, `(a|ab)*`: the
  exponential cases; `(a.*){5}`, `(a|ab){20}`: what a fixed count hides) is refused;
- at most `_MAX_UNBOUNDED` repetitions without a small bound, and small bounded ones
  whose ranges multiply to at most `_MAX_BOUNDED`; the value searched is cut so that
  `ranges * length ** (repetitions + 1)` stays under `_WORK`: a search tries the pattern
  at every position, one more factor of the length (`.*x` alone is quadratic: 45 s on a
  64 KiB header before the cut, found by fuzz/harnesses/sieve_match.py). Header values
  are short; a value cut this way can only fail to match where the full one would have
  matched at its far end.
"""

from __future__ import annotations

import re
import re._parser as sre_parse
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mailroom.message.posix_regex import PosixRegexError, compile_posix

if TYPE_CHECKING:
    from mailroom.sieve.runtime import Run

_WORK = 10**7
_MAX_UNBOUNDED = 4
_SMALL = 16
"""A repetition with at most this many occurrences counts as bounded."""
_MAX_BOUNDED = _WORK // 1000
"""The product of the bounded repetitions' ranges (`\\d{1,3}` four times: 81): what
still leaves a thousand characters to search."""


class RegexRefused(ValueError):
    """Not a usable :regex pattern; the text says why."""


@dataclass(frozen=True)
class CompiledRegex:
    regex: re.Pattern[str]
    input_limit: int


def _analyse(source: str) -> tuple[int, int]:
    """The number of unbounded repetitions and the product of the bounded ones' ranges;
    RegexRefused for nested ones."""
    parsed: Any = sre_parse.parse(source)
    unbounded = 0
    bounded = 1
    # (items, inside a repetition of more than one occurrence)
    stack: list[tuple[Any, bool]] = [(list(parsed), False)]
    repeats = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT}
    while stack:
        items, inside = stack.pop()
        for op, arg in items:
            if op in repeats:
                low, high, body = arg
                variable = high != low
                if variable and inside:
                    raise RegexRefused("a repetition inside a repeated group")
                if high == sre_parse.MAXREPEAT or high > _SMALL:
                    unbounded += 1
                elif variable:
                    bounded *= high - low + 1
                # A fixed count repeats its body's repetitions too: `(a.*){5}` is five.
                stack.append((list(body), inside or high > 1))
            elif op is sre_parse.BRANCH:
                if inside:
                    raise RegexRefused("an alternation inside a repeated group")
                for branch in arg[1]:
                    stack.append((list(branch), inside))
            elif op is sre_parse.SUBPATTERN:
                stack.append((list(arg[3]), inside))
            elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
                stack.append((list(arg[1]), inside))
    if unbounded > _MAX_UNBOUNDED:
        raise RegexRefused(f"more than {_MAX_UNBOUNDED} unbounded repetitions")
    if bounded > _MAX_BOUNDED:
        raise RegexRefused("too many bounded repetitions in a row")
    return unbounded, bounded


@lru_cache(maxsize=512)
def compile_regex(pattern: str, case_insensitive: bool, max_length: int) -> CompiledRegex:
    """RegexRefused when the pattern is not POSIX ERE, too long or too costly."""
    if len(pattern) > max_length:
        raise RegexRefused(f"a regular expression longer than {max_length} characters")
    try:
        compiled = compile_posix(pattern, ignore_case=case_insensitive)
    except PosixRegexError as error:
        raise RegexRefused(str(error)) from None
    unbounded, bounded = _analyse(compiled.pattern)
    # The search tries every start position: one more factor of the value's length.
    limit = int((_WORK / bounded) ** (1 / (unbounded + 1)))
    return CompiledRegex(compiled, limit)


def search_regex(
    run: Run, pattern: str, value: str, case_insensitive: bool
) -> tuple[str, ...] | None:
    """(whole match, group 1, …) when `pattern` is found in `value`, else None."""
    try:
        compiled = compile_regex(pattern, case_insensitive, run.limits.max_regex_length)
    except RegexRefused as error:
        raise run.fail(f"bad regular expression {pattern!r}: {error}") from None
    found = compiled.regex.search(value[: compiled.input_limit])
    if found is None:
        return None
    return (found.group(0), *(group or "" for group in found.groups()))
