"""POSIX regular expressions (as glibc's regcomp reads them for Postfix) turned into
Python `re` patterns.

Used by routing's regexp tables and by Sieve's `:regex` (which asks for POSIX ERE too);
it lives in `message`, the floor every package may use, so that `sieve` need not import
`routing`.

Postfix's regexp tables hand their patterns to regcomp(3): extended syntax (ERE) unless
the `x` flag turns it off (basic syntax, BRE, with GNU's `\\+ \\? \\|`). Python's `re`
reads a different dialect, so a legacy pattern compiled as it is would quietly mean
something else: `[\\.]` (backslash or dot in POSIX, only a dot in Python), `[[:digit:]]`
(a class in POSIX, a nested-set warning in Python), `$` (Python also matches before a
final newline), `a*?` (a lazy loop in Python) or `\\d`, `(?...)` (not POSIX at all). No
library translates POSIX regular expressions to Python's, so this small scanner does:

- bracket expressions: backslash is literal, `]` first is literal, `[:class:]` classes
  (ASCII, as in Postfix's C locale), single-character `[.c.]` and `[=c=]`;
- ERE: `( ) | * + ? {m,n}`, an unmatched `)` is literal, `^ $` anchor anywhere;
  BRE: `\\( \\) \\{m,n\\} \\| \\+ \\?`, `*` first is literal, `^`/`$` anchor only at
  the start/end of the pattern or of a group or alternative;
- glibc escapes `\\1`-`\\9`, `\\w \\W \\s \\S \\b \\B \\< \\> \\` \\'`; any other escaped
  letter or digit (`\\d`, `\\n`) is refused, since glibc gives it no meaning; an escaped
  punctuation character is that character;
- two repetition operators in a row (`a*?`, `a+*`) are refused: POSIX reads them as
  nested repetition, Python as a lazy or possessive one — write `(a*)?`.

What still differs from glibc:
- alternation: Python takes the first alternative that lets the whole pattern match,
  POSIX the longest. Whether a pattern matches is the same; what `$1` captures could
  differ, though glibc does not follow POSIX strictly either: for `(a|ab)(c|bcd)` on
  `abcd` both it and Python capture `a` and `bcd` (tests/routing/test_regexp_table.py
  holds answers recorded from Postfix, all matched);
- Python backtracks: a pattern like `(a+)+$` takes exponential time on a long key that
  almost matches. The keys routing looks up are addresses of at most 254 characters, but
  write patterns that do not nest repetitions;
- case-insensitive matching and `\\w` follow Unicode (an address may be UTF-8), where
  Postfix's C locale knows only ASCII.
"""

from __future__ import annotations

import re
import warnings

RE_DUP_MAX = 0x7FFF
"""Largest repeat count glibc accepts in `{m,n}`."""

# The POSIX character classes in the C locale, as the inside of a Python set.
_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}

_GLIBC_ESCAPES = {
    "w": r"\w",
    "W": r"\W",
    "s": r"\s",
    "S": r"\S",
    "b": r"\b",
    "B": r"\B",
    "<": r"\b(?=\w)",
    ">": r"\b(?<=\w)",
    "`": r"\A",
    "'": r"\Z",
}

_ASSERTIONS = frozenset("bB<>`'")

_HINTS = {
    "d": "; write [0-9]",
    "D": "; write [^0-9]",
    "n": "; a newline cannot occur in a table line",
    "t": "; write [[:blank:]] or a tab in brackets",
}

_INTERVAL = re.compile(r"(\d*)(,?)(\d*)")


class PosixRegexError(ValueError):
    """The pattern is not a POSIX regular expression Mailroom can use; says why."""


class _Translator:
    def __init__(self, pattern: str, *, extended: bool, multiline: bool) -> None:
        self.pattern = pattern
        self.extended = extended
        self.multiline = multiline
        self.position = 0
        self.out: list[str] = []
        self.depth = 0
        self.at_start = True
        """At the start of the pattern, of a group or of an alternative: where BRE reads
        `*` as itself and `^` as an anchor."""
        self.after_repeat = False
        self.repeatable = False
        """Whether the last thing was an atom a repetition operator may follow (not an
        anchor, `(`, `|` or the start: glibc refuses `^*` and `(*a)` in ERE)."""

    # -- output -------------------------------------------------------------------------

    def atom(self, text: str) -> None:
        self.out.append(text)
        self.at_start = False
        self.after_repeat = False
        self.repeatable = True

    def assertion(self, text: str) -> None:
        """An anchor or a zero-width escape like `\\b`: nothing to repeat."""
        self.out.append(text)
        self.after_repeat = False
        self.repeatable = False

    def repeat(self, text: str) -> None:
        if self.after_repeat:
            raise PosixRegexError(
                "two repetition operators in a row (like *? or +*) mean something else in "
                "Python; group the first: (a*)?"
            )
        if not self.repeatable:
            raise PosixRegexError(f"nothing to repeat before {text!r}")
        self.out.append(text)
        self.at_start = False
        self.after_repeat = True
        self.repeatable = False

    def boundary(self, text: str) -> None:
        """A group opening or an alternative: what follows is at a start again."""
        self.out.append(text)
        self.at_start = True
        self.after_repeat = False
        self.repeatable = False

    # -- scanning -----------------------------------------------------------------------

    def peek(self, offset: int = 0) -> str:
        index = self.position + offset
        return self.pattern[index] if index < len(self.pattern) else ""

    def translate(self) -> str:
        while self.position < len(self.pattern):
            char = self.pattern[self.position]
            self.position += 1
            if char == "\\":
                self.escape()
            elif char == "[":
                self.atom(self.bracket())
            elif char == ".":
                self.atom(".")
            elif char == "*":
                if not self.extended and self.at_start:
                    self.atom(r"\*")
                else:
                    self.repeat("*")
            elif char == "^":
                if self.extended or self.at_start:
                    self.assertion("^")  # BRE's `*` after it is still "at the start"
                else:
                    self.atom(r"\^")
            elif char == "$":
                if self.extended or self.dollar_ends_here():
                    self.assertion("$" if self.multiline else r"\Z")
                    self.at_start = False
                else:
                    self.atom(r"\$")
            elif self.extended and char in "+?":
                self.repeat(char)
            elif self.extended and char == "{":
                self.repeat(self.interval("}"))
            elif self.extended and char == "(":
                self.open_group()
            elif self.extended and char == ")":
                self.close_group()
            elif self.extended and char == "|":
                self.boundary("|")
            else:
                self.atom(re.escape(char))
        if self.depth:
            raise PosixRegexError(
                "a '(' is never closed" if self.extended else "a '\\(' is never closed"
            )
        return "".join(self.out)

    def dollar_ends_here(self) -> bool:
        rest = self.pattern[self.position :]
        return not rest or rest.startswith(("\\)", "\\|"))

    def open_group(self) -> None:
        if self.extended and self.peek() == "?":
            raise PosixRegexError("'(?' is Python or PCRE syntax, not a POSIX regular expression")
        self.depth += 1
        self.boundary("(")

    def close_group(self) -> None:
        if self.depth == 0:
            if self.extended:
                self.atom(r"\)")  # glibc reads an unmatched ')' as itself
                return
            raise PosixRegexError("'\\)' without an opening '\\('")
        self.depth -= 1
        self.atom(")")

    def escape(self) -> None:
        if self.position >= len(self.pattern):
            raise PosixRegexError("the pattern ends with a backslash")
        char = self.pattern[self.position]
        self.position += 1
        if not self.extended:
            if char == "(":
                self.open_group()
                return
            if char == ")":
                self.close_group()
                return
            if char == "|":
                self.boundary("|")
                return
            if char in "+?":
                if self.at_start:
                    self.atom(re.escape(char))  # like `*`, GNU reads them literally there
                else:
                    self.repeat(char)
                return
            if char == "{":
                if self.at_start:
                    raise PosixRegexError("'\\{' needs something before it to repeat")
                self.repeat(self.interval("\\}"))
                return
        if char in "123456789":
            self.atom(f"(?:\\{char})")  # the group keeps `\12` from reading as group 12
        elif char in _ASSERTIONS:
            self.assertion(_GLIBC_ESCAPES[char])
        elif char in _GLIBC_ESCAPES:
            self.atom(_GLIBC_ESCAPES[char])
        elif char.isascii() and char.isalnum():
            raise PosixRegexError(
                f"'\\{char}' means nothing in a POSIX regular expression{_HINTS.get(char, '')}"
            )
        else:
            self.atom(re.escape(char))

    def interval(self, closing: str) -> str:
        match = _INTERVAL.match(self.pattern, self.position)
        assert match is not None  # every part of the pattern is optional
        end = match.end()
        low, comma, high = match.groups()
        if not self.pattern.startswith(closing, end) or not (low or high):
            opening = "{" if closing == "}" else "\\{"
            literal = "\\{" if closing == "}" else "{"
            raise PosixRegexError(
                f"'{opening}' must start a repeat count like {opening}2{closing} or "
                f"{opening}2,5{closing}; write {literal} for a brace"
            )
        self.position = end + len(closing)
        minimum = int(low) if low else 0
        maximum = int(high) if high else None
        if max(minimum, maximum or 0) > RE_DUP_MAX:
            raise PosixRegexError(f"a repeat count is larger than {RE_DUP_MAX}")
        if maximum is not None and maximum < minimum:
            raise PosixRegexError(f"the repeat count {{{low},{high}}} is backwards")
        if not comma:
            return f"{{{minimum}}}"
        return f"{{{minimum},}}" if maximum is None else f"{{{minimum},{maximum}}}"

    def bracket(self) -> str:
        """A bracket expression, from just after its `[` to just after its `]`."""
        negate = self.peek() == "^"
        if negate:
            self.position += 1
        items: list[str] = []
        first = True
        while True:
            char = self.peek()
            if not char:
                raise PosixRegexError("a '[' is never closed by ']'")
            if char == "]" and not first:
                self.position += 1
                break
            first = False
            if char == "[" and self.peek(1) == ":":
                items.append(self.character_class())
                if self.peek() == "-" and self.peek(1) not in ("]", ""):
                    raise PosixRegexError("a character class like [:digit:] cannot start a range")
                continue
            low = self.bracket_character()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.position += 1
                if self.peek() == "[" and self.peek(1) == ":":
                    raise PosixRegexError("a character class like [:digit:] cannot end a range")
                high = self.bracket_character()
                if ord(high) < ord(low):
                    raise PosixRegexError(f"the range {low}-{high} is backwards")
                items.append(f"{re.escape(low)}-{re.escape(high)}")
            else:
                items.append(re.escape(low))
        if negate and self.multiline:
            items.append(r"\n")  # REG_NEWLINE: a non-matching list does not match a newline
        return ("[^" if negate else "[") + "".join(items) + "]"

    def character_class(self) -> str:
        end = self.pattern.find(":]", self.position + 2)
        if end < 0:
            raise PosixRegexError("a '[:' is never closed by ':]'")
        name = self.pattern[self.position + 2 : end]
        self.position = end + 2
        if name not in _CLASSES:
            raise PosixRegexError(
                f"[:{name}:] is not a character class; the classes are "
                + ", ".join(sorted(_CLASSES))
            )
        return _CLASSES[name]

    def bracket_character(self) -> str:
        """One character in a bracket expression: itself, or a `[.c.]` / `[=c=]`."""
        char = self.peek()
        kind = self.peek(1)
        if char == "[" and kind in (".", "="):
            end = self.pattern.find(kind + "]", self.position + 2)
            if end < 0:
                raise PosixRegexError(f"a '[{kind}' is never closed by '{kind}]'")
            name = self.pattern[self.position + 2 : end]
            if len(name) != 1:
                raise PosixRegexError(
                    f"[{kind}{name}{kind}]: only single characters are supported there"
                )
            self.position = end + 2
            return name
        self.position += 1
        return char


def translate(pattern: str, *, extended: bool = True, multiline: bool = False) -> str:
    """The Python `re` source meaning what `pattern` means to glibc's regcomp."""
    return _Translator(pattern, extended=extended, multiline=multiline).translate()


def compile_posix(
    pattern: str, *, ignore_case: bool = True, extended: bool = True, multiline: bool = False
) -> re.Pattern[str]:
    """Compile a POSIX regular expression; PosixRegexError says what is wrong with it."""
    source = translate(pattern, extended=extended, multiline=multiline)
    flags = re.IGNORECASE if ignore_case else 0
    flags |= re.MULTILINE if multiline else re.DOTALL  # POSIX `.` matches a newline
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(source, flags)
    except (re.error, FutureWarning, DeprecationWarning, RecursionError, OverflowError) as error:
        message = error.msg if isinstance(error, re.error) else str(error)
        raise PosixRegexError(message) from None
