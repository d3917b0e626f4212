"""The lexical layer of IMAP commands: a command's arguments as a tree of tokens,
and a reader that takes IMAP's value types (astring, nstring, number…) from it.

parser.py cuts lines and literals into these tokens; the grammar of each
command (parser.py, search_keys.py, fetch_items.py) reads them with
`TokenReader` and raises `GrammarError` with the short text the client sees in
its `BAD` answer. `ParserLimits`, what one command may hold, lives here so that
every layer of the grammar reads the same limits. Pure: no I/O, no state beyond
one command.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mailroom.imap.sequence import SequenceSet, parse_sequence_set

MAX_NUMBER = 2**32 - 1
"""RFC 9051 §9 number: 32-bit unsigned."""
MAX_MOD_SEQUENCE = 2**63 - 1
"""RFC 7162 §7 mod-sequence-value: 63-bit unsigned."""


@dataclass(frozen=True)
class ParserLimits:
    """What one command may hold; every limit is checked before the memory is spent."""

    max_literal: int = 64 * 1024
    """Octets of an ordinary literal (a mailbox name, a password, a search string)."""
    max_append_literal: int = 50 * 1024 * 1024
    """Octets of an APPEND message (APPENDLIMIT, RFC 7889)."""
    max_depth: int = 32
    """Nested parentheses."""
    max_search_depth: int = 64
    """Nested NOT / OR / parentheses in search keys (the evaluator recurses that deep)."""
    max_items: int = 1000
    """Fetch items, search keys, flags, patterns, status items, APPEND messages…"""
    max_sequence_ranges: int = 16_384
    """Ranges in the sequence set of FETCH, STORE, COPY, MOVE, UID EXPUNGE: clients send
    long lists of UIDs (Dovecot takes what fits its 64 KiB line); a command's line limit
    bounds them anyway. Search keys keep `max_items`: they are tested once per message."""
    max_tokens: int = 10_000
    """Tokens (words, strings, lists) in one command."""
    max_command: int = 1024 * 1024
    """Octets of one command's lines and ordinary literals together."""
    max_nonsynchronizing_literal: int | None = None
    """RFC 7888 §5 LITERAL-: non-synchronizing literals above this (4096) are refused and
    end the connection. None (LITERAL+): only the limits above apply."""


class GrammarError(Exception):
    """A command that does not follow the grammar; `text` is what the BAD answer says."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True, slots=True)
class Word:
    """An unquoted token as written: atoms, numbers, flags, sequence sets, `BODY[1]`."""

    text: str


@dataclass(frozen=True, slots=True)
class Quoted:
    """A quoted string, escapes removed."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal (`{n}`, `{n+}`) or literal8 (`~{n}`); `data` is bytes, or for an APPEND
    message whatever object the session handed to `feed_literal`."""

    data: object
    binary: bool = False
    message: bool = False


@dataclass(slots=True)
class Group:
    """A parenthesized list (mutable while the parser builds it)."""

    items: list[Token]


Token = Word | Quoted | Literal | Group

_NUMBER_TEXT = re.compile(r"[0-9]{1,20}")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# RFC 9051 §9 date-text = date-day "-" date-month "-" date-year
_DATE = re.compile(r"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
# RFC 9051 §9 date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(
    r" ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})"
    r" ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)


def string_bytes(token: Token) -> bytes | None:
    """The octets of a quoted string or of a literal holding bytes; None otherwise."""
    if isinstance(token, Quoted):
        return token.data
    if isinstance(token, Literal) and not token.message and isinstance(token.data, bytes):
        return token.data
    return None


def decode_text(data: bytes) -> str:
    """Strings are UTF-8 (RFC 9051 §4.3; US-ASCII is a subset)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise GrammarError("Invalid UTF-8 in string") from None


def number_value(text: str, maximum: int = MAX_NUMBER) -> int:
    """Digits only (no sign), at most `maximum`; GrammarError otherwise."""
    if not _NUMBER_TEXT.fullmatch(text):
        raise GrammarError("Invalid number")
    value = int(text)
    if value > maximum:
        raise GrammarError("Number too large")
    return value


def date_value(text: str) -> datetime.date:
    """RFC 9051 §9 date-text `1-Feb-1994` into a date."""
    match = _DATE.fullmatch(text)
    if not match or match.group(2).upper() not in _MONTHS:
        raise GrammarError("Invalid date")
    day, month, year = match.groups()
    try:
        return datetime.date(int(year), _MONTHS.index(month.upper()) + 1, int(day))
    except ValueError:
        raise GrammarError("Invalid date") from None


def date_time_value(text: str) -> datetime.datetime:
    """RFC 9051 §9 date-time (APPEND's internal date) `17-Jul-1996 02:44:25 -0700`."""
    match = _DATE_TIME.fullmatch(text)
    if not match or match.group(2).upper() not in _MONTHS:
        raise GrammarError("Invalid date-time")
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = datetime.timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        zone = datetime.timezone(-offset if sign == "-" else offset)
        return datetime.datetime(
            int(year),
            _MONTHS.index(month.upper()) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=zone,
        )
    except ValueError:
        raise GrammarError("Invalid date-time") from None


class TokenReader:
    """Reads a command's arguments left to right; every method raises GrammarError."""

    def __init__(self, items: Sequence[Token]) -> None:
        self._items = items
        self._position = 0

    def at_end(self) -> bool:
        return self._position >= len(self._items)

    def remaining(self) -> int:
        return len(self._items) - self._position

    def peek(self) -> Token | None:
        return None if self.at_end() else self._items[self._position]

    def peek_keyword(self) -> str | None:
        """The next token upper-cased if it is a word, without consuming it."""
        token = self.peek()
        return token.text.upper() if isinstance(token, Word) else None

    def take(self) -> Token:
        if self.at_end():
            raise GrammarError("Missing argument")
        token = self._items[self._position]
        self._position += 1
        return token

    def end(self) -> None:
        if not self.at_end():
            raise GrammarError("Unexpected argument")

    def word(self) -> str:
        token = self.take()
        if not isinstance(token, Word):
            raise GrammarError("Invalid argument")
        return token.text

    def keyword(self) -> str:
        """A word, upper-cased (command options are case-insensitive)."""
        return self.word().upper()

    def take_keyword(self, keyword: str) -> bool:
        """Consume the next token if it is the word `keyword` (any case)."""
        if self.peek_keyword() == keyword:
            self._position += 1
            return True
        return False

    def group(self) -> TokenReader:
        token = self.take()
        if not isinstance(token, Group):
            raise GrammarError("Expected a parenthesized list")
        return TokenReader(token.items)

    def astring_bytes(self) -> bytes:
        """RFC 9051 §9 astring: an atom or a string."""
        token = self.take()
        if isinstance(token, Word):
            return token.text.encode("utf-8")
        data = string_bytes(token)
        if data is None:
            raise GrammarError("Invalid string")
        return data

    def astring(self) -> str:
        return decode_text(self.astring_bytes())

    def string(self) -> str:
        """RFC 9051 §9 string: quoted or literal, never an atom."""
        data = string_bytes(self.take())
        if data is None:
            raise GrammarError("Invalid string")
        return decode_text(data)

    def nstring(self) -> str | None:
        """RFC 9051 §9 nstring: a string or NIL."""
        token = self.peek()
        if isinstance(token, Word) and token.text.upper() == "NIL":
            self._position += 1
            return None
        return self.string()

    def number(self, maximum: int = MAX_NUMBER) -> int:
        return number_value(self.word(), maximum)

    def nz_number(self) -> int:
        value = self.number()
        if value == 0:
            raise GrammarError("Invalid number")
        return value

    def mod_sequence(self) -> int:
        return self.number(MAX_MOD_SEQUENCE)

    def sequence_set(self, *, max_ranges: int = 1000) -> SequenceSet:
        token = self.take()
        if not isinstance(token, Word):
            raise GrammarError("Invalid sequence set")
        try:
            return parse_sequence_set(token.text, max_ranges=max_ranges)
        except ValueError:
            raise GrammarError("Invalid sequence set") from None
