"""Postfix regexp_table(5) files: ordered `/pattern/flags result` rules (the legacy
`arbitration` rewrites).

The format, as Postfix 3.7 reads it (dict_regexp.c):
- `/pattern/flags result`: when the pattern matches the key, the result; `$1`, `${1}` or
  `$(1)` put in what the pattern's first group matched (nothing if it matched nothing);
  `$$` is a dollar sign;
- `!/pattern/flags result`: when the pattern does *not* match (no `$n` then);
- `/pattern1/!/pattern2/ result`: when pattern1 matches and pattern2 does not (an old
  form, still accepted by Postfix);
- `if /pattern/flags` ... `endif` (and `if !/pattern/`): the rules between apply only if
  the key matches; they nest. Lines inside must not be indented: an indented line
  continues the line before it;
- the delimiter is any character that is not a letter or digit (`/` by convention);
  a backslash before it keeps it in the pattern;
- flags toggle: `i` case sensitivity (matching is case-INsensitive unless `i` is given),
  `x` extended syntax (on unless `x` is given: `x` selects POSIX basic syntax), `m`
  multi-line mode (off unless given);
- the whole key is searched: a pattern without `^...$` matches anywhere in it;
- the first rule that matches gives the result; lookup keys are not split into user and
  domain, nor `user+tag` into user and tag.

Patterns are POSIX regular expressions; `posix_regex` turns them into Python's and its
docstring says what still differs. Where Postfix logs a warning and skips a bad rule
(unknown flag, pattern that does not compile, `$3` with two groups, `endif` without
`if`, text after `if /pattern/`, no result), Mailroom refuses the whole file with
MapFileError naming the line, so that a table never silently loses a rule.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailroom.message.posix_regex import PosixRegexError, compile_posix
from mailroom.routing.map_file import (
    WHITESPACE,
    MapFileError,
    logical_lines,
    read_map_file,
)

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 1000
"""Longer keys match no rule (every address is at most 254 characters): a bound on the
time one lookup may take."""
MAX_RESULT_LENGTH = 4096
"""A result longer than this after substitution is dropped (logged), not returned."""


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    negated: bool

    def holds(self, key: str) -> re.Match[str] | bool:
        """The match (positive pattern), or whether the negated pattern holds."""
        found = self.regex.search(key)
        if self.negated:
            return found is None
        return found if found is not None else False


@dataclass(frozen=True)
class _MatchRule:
    line: int
    first: _Pattern
    second: _Pattern | None
    result: tuple[str | int, ...]
    """Literal text and group numbers, in order."""


@dataclass(frozen=True)
class _IfRule:
    line: int
    condition: _Pattern
    after_endif: int
    """Index of the rule after the matching `endif`."""


@dataclass(frozen=True)
class RegexpMatch:
    result: str
    line: int
    """The line of the rule that matched."""


class RegexpTable:
    """A parsed regexp table; `lookup` is safe on any key."""

    def __init__(self, path: Path, rules: tuple[_MatchRule | _IfRule, ...]) -> None:
        self.path = path
        self._rules = rules

    def __len__(self) -> int:
        """The number of result rules (not counting `if` and `endif`)."""
        return sum(isinstance(rule, _MatchRule) for rule in self._rules)

    def __repr__(self) -> str:
        return f"<RegexpTable {self.path} with {len(self)} rules>"

    def lookup(self, key: str) -> str | None:
        """The result of the first rule matching `key`, or None."""
        found = self.match(key)
        return None if found is None else found.result

    def match(self, key: str) -> RegexpMatch | None:
        """The result of the first rule matching `key` and that rule's line, or None."""
        if len(key) > MAX_KEY_LENGTH:
            return None
        index = 0
        while index < len(self._rules):
            rule = self._rules[index]
            index += 1
            if isinstance(rule, _IfRule):
                if not rule.condition.holds(key):
                    index = rule.after_endif
                continue
            found = rule.first.holds(key)
            if not found or (rule.second is not None and not rule.second.holds(key)):
                continue
            result = _substitute(rule.result, found if isinstance(found, re.Match) else None)
            if len(result) > MAX_RESULT_LENGTH:
                log.warning(
                    "%s:%d: the result for %r is longer than %d characters; ignored",
                    self.path,
                    rule.line,
                    key[:100],
                    MAX_RESULT_LENGTH,
                )
                return None
            return RegexpMatch(result, rule.line)
        return None

    def literal_results(self) -> Iterator[tuple[int, str]]:
        """(line, result) of the rules whose result substitutes nothing, to check them."""
        for rule in self._rules:
            if isinstance(rule, _MatchRule) and all(isinstance(p, str) for p in rule.result):
                yield rule.line, "".join(str(piece) for piece in rule.result)


def _substitute(template: tuple[str | int, ...], found: re.Match[str] | None) -> str:
    pieces = []
    for piece in template:
        if isinstance(piece, str):
            pieces.append(piece)
        elif found is not None:
            pieces.append(found.group(piece) or "")
    return "".join(pieces)


# -- parsing ------------------------------------------------------------------------------


class _LineParser:
    """One logical line; `fail` raises MapFileError naming it."""

    def __init__(self, path: Path, number: int, text: str) -> None:
        self.path = path
        self.number = number
        self.text = text
        self.position = 0

    def fail(self, message: str) -> MapFileError:
        return MapFileError(self.path, self.number, message)

    def skip_whitespace(self) -> None:
        while self.position < len(self.text) and self.text[self.position] in WHITESPACE:
            self.position += 1

    def rest(self) -> str:
        return self.text[self.position :]

    def pattern(self) -> _Pattern:
        """`!/pattern/flags` from the current position (after `!`s and whitespace)."""
        text = self.text
        negated = False
        while self.position < len(text) and (
            text[self.position] == "!" or text[self.position] in WHITESPACE
        ):
            negated ^= text[self.position] == "!"
            self.position += 1
        if self.position >= len(text):
            raise self.fail("expected a /pattern/ here")
        delimiter = text[self.position]
        if _is_ascii_alnum(delimiter) or delimiter == "\\":
            raise self.fail(f"enclose a pattern in delimiters like /pattern/, not {delimiter!r}")
        self.position += 1
        start = self.position
        while self.position < len(text) and text[self.position] != delimiter:
            self.position += 2 if text[self.position] == "\\" else 1
        if self.position >= len(text):
            raise self.fail(f"the pattern has no closing {delimiter!r}")
        source = text[start : self.position]
        self.position += 1
        ignore_case, multiline, extended = True, False, True
        while self.position < len(text) and text[self.position] not in WHITESPACE + "!":
            flag = text[self.position]
            if flag == "i":
                ignore_case = not ignore_case
            elif flag == "m":
                multiline = not multiline
            elif flag == "x":
                extended = not extended
            else:
                raise self.fail(f"unknown flag {flag!r} after the pattern (flags: i, m, x)")
            self.position += 1
        try:
            regex = compile_posix(
                source, ignore_case=ignore_case, extended=extended, multiline=multiline
            )
        except PosixRegexError as error:
            raise self.fail(f"bad pattern {delimiter}{source}{delimiter}: {error}") from None
        return _Pattern(regex, negated)

    def result(self, text: str) -> tuple[str | int, ...]:
        """`text` split into literal pieces and group numbers, as Postfix's mac_parse."""
        pieces: list[str | int] = []
        literal: list[str] = []
        index = 0
        while index < len(text):
            char = text[index]
            if char != "$":
                literal.append(char)
                index += 1
                continue
            if text.startswith("$$", index):
                literal.append("$")
                index += 2
                continue
            index += 1
            opening = text[index] if index < len(text) else ""
            if opening in ("(", "{"):
                closing = ")" if opening == "(" else "}"
                level, end = 1, index + 1
                while level:
                    if end >= len(text):
                        raise self.fail(f"'${opening}' is never closed by {closing!r}")
                    level += (text[end] == opening) - (text[end] == closing)
                    end += 1
                name = text[index + 1 : end - 1]
            else:
                end = index
                while end < len(text) and (_is_ascii_alnum(text[end]) or text[end] == "_"):
                    end += 1
                name = text[index:end]
            index = end
            if not (name.isascii() and name.isdigit()) or int(name) == 0:
                shown = f"${name}" if name else "'$'"
                raise self.fail(
                    f"{shown}: only group numbers can be put in a result, like $1 or "
                    "${1}; write $$ for a dollar sign"
                )
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.append(int(name))
        if literal:
            pieces.append("".join(literal))
        return tuple(pieces)


def parse_regexp_table(text: str, path: Path | str) -> RegexpTable:
    """Parse the text of a regexp table; MapFileError at the first mistake."""
    path = Path(path)
    rules: list[_MatchRule | _IfRule] = []
    open_ifs: list[tuple[int, int, _Pattern]] = []  # (index in rules, line, condition)
    for line in logical_lines(text, path):
        parser = _LineParser(path, line.number, line.text)
        first = line.text[0]
        word = re.match(r"[A-Za-z0-9]*", line.text)
        keyword = word.group().lower() if word else ""
        if not _is_ascii_alnum(first):
            rules.append(_match_rule(parser))
        elif keyword == "if":
            parser.position = 2
            condition = parser.pattern()
            parser.skip_whitespace()
            if parser.rest():
                raise parser.fail(
                    f"unexpected text after the if pattern: {parser.rest()[:60]!r} (an "
                    "indented line continues the line before: do not indent lines inside "
                    "if..endif)"
                )
            open_ifs.append((len(rules), line.number, condition))
            rules.append(_IfRule(line.number, condition, after_endif=-1))  # placeholder
        elif keyword == "endif":
            if not open_ifs:
                raise parser.fail("endif without an if before it")
            if line.text[5:].strip(WHITESPACE):
                raise parser.fail("unexpected text after endif")
            index, if_line, condition = open_ifs.pop()
            rules[index] = _IfRule(if_line, condition, after_endif=len(rules))
        else:
            raise parser.fail("expected /pattern/ result, !/pattern/ result, if /pattern/ or endif")
    if open_ifs:
        raise MapFileError(path, open_ifs[-1][1], "this if has no endif")
    return RegexpTable(path, tuple(rules))


def _match_rule(parser: _LineParser) -> _MatchRule:
    first = parser.pattern()
    second = parser.pattern() if parser.rest().startswith("!") else None
    parser.skip_whitespace()
    text = parser.rest()
    if not text:
        raise parser.fail("the pattern has no result after it")
    result = parser.result(text)
    groups = [piece for piece in result if isinstance(piece, int)]
    if groups and first.negated:
        raise parser.fail(
            "a negated pattern (!/.../) matches nothing to put in the result; remove the $n"
        )
    if groups and max(groups) > first.regex.groups:
        raise parser.fail(
            f"${max(groups)} refers to group {max(groups)}, but the pattern has "
            f"{first.regex.groups} group(s) in ( )"
        )
    return _MatchRule(parser.number, first, second, result)


def load_regexp_table(path: Path) -> RegexpTable:
    """Read and parse a regexp table file; MapFileError if it cannot be used."""
    return parse_regexp_table(read_map_file(path), path)
