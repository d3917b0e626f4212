"""Sieve's match types on hostile values: `:matches` (`mailroom.sieve.wildcard`) and
`:regex` (`mailroom.sieve.regex_match`, with its defence against patterns that take
exponential or high polynomial time).

The input's first octet chooses the match type and case folding; up to the first LF is
the pattern (a member's script), the rest is the value (a header a stranger wrote),
repeated up to `SieveLimits.max_match_input` characters, the longest value a test
looks at, as a hostile header would be. Contract: a wildcard matches or not, and its
captures put back between the pattern's literal pieces give the value again; a regex
is compiled or refused (`RegexRefused`), and the search of a value cut to the
compiled pattern's `input_limit` ends quickly. A crash: any other exception, captures
that do not rebuild the value, or a hang (libFuzzer's timeout): the search cannot be
interrupted once it runs, so a pattern the defence lets through must not take long.
"""

from __future__ import annotations

import string

from mailroom.sieve.limits import SieveLimits
from mailroom.sieve.regex_match import RegexRefused, compile_regex
from mailroom.sieve.wildcard import compile_wildcard

LIMITS = SieveLimits()
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _rebuilt(pattern: str, captures: tuple[str, ...]) -> str:
    """The value `pattern` matched, from its literal characters and the captures."""
    out: list[str | None] = []  # None: where a capture goes
    index = 0
    wildcards: list[str] = []
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(pattern[index + 1])
            index += 2
            continue
        if char in "*?":
            wildcards.append(char)
            out.append(None)
        else:
            out.append(char)
        index += 1
    # Captures come in pattern order (wildcard.py: a segment's `?`s follow its star).
    assert len(captures) == len(wildcards), (pattern, captures)
    filled = iter(captures)
    return "".join(next(filled) if piece is None else piece for piece in out)


def one_input(data: bytes) -> None:
    if not data:
        return
    options = data[0]
    pattern_octets, _, template = data[1:].partition(b"\n")
    pattern = pattern_octets.decode("utf-8", "replace")
    text = template.decode("utf-8", "replace") or "a"
    value = (text * (LIMITS.max_match_input // len(text) + 1))[: LIMITS.max_match_input]
    if options & 2 and len(text) < 64:
        value = text  # short values too, where captures are easy to check
    case_insensitive = bool(options & 1)
    if options & 4:
        try:
            compiled = compile_regex(pattern, case_insensitive, LIMITS.max_regex_length)
        except RegexRefused:
            return
        compiled.regex.search(value[: compiled.input_limit])
        return
    captures = compile_wildcard(pattern, case_insensitive).match(value)
    if captures is not None:
        rebuilt = _rebuilt(pattern, captures)
        if case_insensitive:
            assert rebuilt.translate(_ASCII_LOWER) == value.translate(_ASCII_LOWER)
        else:
            assert rebuilt == value, (pattern, value[:100], captures)
