"""`:regex` (draft-ietf-sieve-regex-01): POSIX extended regular expressions, searched
anywhere in the value; `${0}` is the matched text and `${1}`… its groups.

The pattern is translated by `mailroom.message.posix_regex` (the same translation
routing's regexp tables use) and run by Python's `re`, which backtracks. The defence
against a pattern that takes exponential or high polynomial time (ReDoS), since `re`
cannot be interrupted once it runs:
- a pattern is at most `SieveLimits.max_regex_length` characters;
- a repetition inside a repeated group of variable length, or an alternation inside
  one (`(a+)+`, `(a|ab)*`: the exponential cases) is refused;
- at most `_MAX_UNBOUNDED` repetitions without a small bound, and the value searched is
  cut so that `length ** repetitions` stays under `_WORK`: the polynomial cases
  (`.*.*.*x`) are bounded too. Header values are short; a value cut this way can only
  fail to match where the full one would have matched at its far end.
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


class RegexRefused(ValueError):
    """Not a usable :regex pattern; the text says why."""


@dataclass(frozen=True)
class CompiledRegex:
    regex: re.Pattern[str]
    input_limit: int


def _analyse(source: str) -> int:
    """The number of unbounded repetitions; RegexRefused for nested ones."""
    parsed: Any = sre_parse.parse(source)
    unbounded = 0
    # (items, inside a variable repetition)
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
                stack.append((list(body), inside or (variable and high > 1)))
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
    return unbounded


@lru_cache(maxsize=512)
def compile_regex(pattern: str, case_insensitive: bool, max_length: int) -> CompiledRegex:
    """RegexRefused when the pattern is not POSIX ERE, too long or too costly."""
    if len(pattern) > max_length:
        raise RegexRefused(f"a regular expression longer than {max_length} characters")
    try:
        compiled = compile_posix(pattern, ignore_case=case_insensitive)
    except PosixRegexError as error:
        raise RegexRefused(str(error)) from None
    unbounded = _analyse(compiled.pattern)
    limit = int(_WORK ** (1 / unbounded)) if unbounded > 1 else 1 << 62
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
