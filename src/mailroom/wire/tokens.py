"""A command's arguments as a tree of tokens, and a reader that takes the value types
of IMAP-style grammars (atom, astring, string, nstring, number) from it.

The lexer (lexer.py) cuts lines and literals into these tokens; each protocol's grammar
reads them with `TokenReader` and raises `GrammarError` with the short text the client
sees in its `BAD` (or `NO`) answer. Value types are RFC 9051 §9's, which ManageSieve
borrows (RFC 5804 §4). Pure: no I/O, no state beyond one command.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

MAX_NUMBER = 2**32 - 1
"""RFC 9051 §9 number, RFC 5804 §4 number: 32-bit unsigned."""


class GrammarError(Exception):
    """A command that does not follow the grammar; `text` is what the answer says."""

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
    """A literal (`{n}`, `{n+}`) or literal8 (`~{n}`); `data` is bytes, or for a
    streamed literal (an IMAP APPEND message) whatever object the session handed over."""

    data: object
    binary: bool = False
    message: bool = False


@dataclass(slots=True)
class Group:
    """A parenthesized list (mutable while the lexer builds it)."""

    items: list[Token]


Token = Word | Quoted | Literal | Group

_NUMBER_TEXT = re.compile(r"[0-9]{1,20}")


def string_bytes(token: Token) -> bytes | None:
    """The octets of a quoted string or of a literal holding bytes; None otherwise."""
    if isinstance(token, Quoted):
        return token.data
    if isinstance(token, Literal) and not token.message and isinstance(token.data, bytes):
        return token.data
    return None


def decode_text(data: bytes) -> str:
    """Strings are UTF-8 (RFC 9051 §4.3, RFC 5804 §4; US-ASCII is a subset)."""
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


class TokenReader:
    """Reads a command's arguments left to right; every method raises GrammarError.
    A protocol may subclass it for its own value types (`group` returns the subclass)."""

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

    def group(self) -> Self:
        token = self.take()
        if not isinstance(token, Group):
            raise GrammarError("Expected a parenthesized list")
        return type(self)(token.items)

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
