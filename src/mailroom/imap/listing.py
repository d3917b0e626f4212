"""LIST patterns: which mailbox names `LIST reference pattern` selects (RFC 3501 §6.3.8).

`*` matches any run of characters, `%` any run without the hierarchy separator.
The reference is prepended to the pattern as Dovecot does (the interpretation RFC
3501 leaves to the server). INBOX matches case-insensitively, as its name does: a
pattern's first level is compared without case against a name whose first level is
INBOX, so `inbox`, `Inbox.%` and `in*` find it, as in Dovecot (imap-match.c).

A pattern comes from the client, so matching must stay cheap whatever it holds: it
is run as a set of states over the name (a Thompson simulation, never backtracking),
so a name of n characters against a pattern of m costs at most n·m steps, and a
pattern is at most MAX_PATTERN characters. (A regular expression would do, until
`*a*a*a*…b` made it backtrack for longer than the universe has left.)
"""

from __future__ import annotations

from functools import lru_cache

MAX_PATTERN = 1024
"""Longest reference + pattern accepted (longer ones match nothing)."""
INBOX = "INBOX"

_ANY = "*"
_LEVEL = "%"


def full_pattern(reference: str, pattern: str, separator: str) -> str:
    """The pattern the reference names: `LIST "Work" ".%"` → `Work.%`.

    A pattern that starts with the separator is relative to the root when the reference
    is empty, and joins the reference without doubling the separator otherwise.
    """
    if not reference:
        return pattern
    if reference.endswith(separator) and pattern.startswith(separator):
        return reference + pattern[len(separator) :]
    return reference + pattern


@lru_cache(maxsize=256)
def _tokens(pattern: str) -> tuple[str, ...] | None:
    """The pattern as single characters and wildcards, runs of wildcards collapsed
    ('*' wins over '%' inside a run, as in Dovecot's pattern_compress)."""
    if len(pattern) > MAX_PATTERN:
        return None
    tokens: list[str] = []
    for char in pattern:
        if char in (_ANY, _LEVEL) and tokens and tokens[-1] in (_ANY, _LEVEL):
            if char == _ANY:
                tokens[-1] = _ANY
            continue
        tokens.append(char)
    return tuple(tokens)


def _first_level_length(tokens: tuple[str, ...], separator: str) -> int:
    """How many tokens belong to the pattern's first level."""
    for index, token in enumerate(tokens):
        if token in (separator, _ANY):
            return index
    return len(tokens)


def _glob_match(name: str, tokens: tuple[str, ...], separator: str, fold: int) -> bool:
    """Whether `name` matches the tokens; the first `fold` tokens ignore case."""
    end = len(tokens)

    def closure(states: set[int]) -> set[int]:
        # A wildcard may match nothing: its state also stands after it.
        out = set()
        for state in states:
            out.add(state)
            while state < end and tokens[state] in (_ANY, _LEVEL):
                state += 1
                out.add(state)
        return out

    states = closure({0})
    for char in name:
        upper = char.upper()
        following: set[int] = set()
        for state in states:
            if state == end:
                continue
            token = tokens[state]
            if token == _ANY or (token == _LEVEL and char != separator):
                following.add(state)
            elif token == char or (state < fold and token.upper() == upper):
                following.add(state + 1)
        if not following:
            return False
        states = closure(following)
    return end in states


def _first_level_is_inbox(name: str, separator: str) -> bool:
    head = name.partition(separator)[0]
    return head.upper() == INBOX


def matches(name: str, pattern: str, separator: str) -> bool:
    """Whether the mailbox `name` is selected by `pattern` (reference already joined)."""
    tokens = _tokens(pattern)
    if tokens is None:
        return False
    if _first_level_is_inbox(name, separator):
        _head, sep, rest = name.partition(separator)
        name = INBOX + sep + rest
        fold = _first_level_length(tokens, separator)
    else:
        fold = 0
    return _glob_match(name, tokens, separator, fold)
