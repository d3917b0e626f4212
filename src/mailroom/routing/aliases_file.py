"""aliases(5) files (the legacy /etc/aliases): `name: value1, value2` lines.

As Postfix's postalias(1) reads them:
- the name is everything before the first `:` that is not inside double quotes; it is a
  local name (no `@` unless quoted) and is folded to lower case;
- values are separated by commas; a value is an RFC 822 address, possibly quoted
  (`"john.doe"`), possibly in angle brackets after a phrase (`John <john>`), possibly
  with a (comment);
- a name given twice: Postfix keeps the first entry and warns; so does Mailroom.

What Mailroom does with them differs on purpose: it delivers only to mailboxes and
addresses, so `|command`, `/file/name` and `:include:/file` values are refused when the
file is loaded (Postfix's local(8) would run, append to or read them). A value without
`@` is a local name: the router gives it the domain of the address being expanded, since
every name here applies to every local domain. Values are checked and normalised when the
file is loaded, so a typo is reported with its line rather than bounced at delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailroom.directory.addresses import normalize_address, normalize_local_part
from mailroom.directory.errors import InvalidAddress
from mailroom.routing.map_file import WHITESPACE, MapFileError, logical_lines, read_map_file

log = logging.getLogger(__name__)

_SPECIALS = ":,<>"


@dataclass(frozen=True)
class _Token:
    kind: str
    """'atom', 'quoted' (text is the unquoted content), 'space', or 'special'."""
    text: str


@dataclass(frozen=True)
class AliasEntry:
    values: tuple[str, ...]
    """Normalised `local` names and `local@domain` addresses, in the file's order."""
    line: int


class AliasesFile:
    """A parsed aliases file; names are looked up case-insensitively."""

    def __init__(self, path: Path, entries: dict[str, AliasEntry]) -> None:
        self.path = path
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def __repr__(self) -> str:
        return f"<AliasesFile {self.path} with {len(self)} names>"

    def lookup(self, name: str) -> tuple[str, ...] | None:
        """The values of `name` (a local part), or None."""
        entry = self._entries.get(name.lower())
        return None if entry is None else entry.values

    def entry(self, name: str) -> AliasEntry | None:
        """The values of `name` and the line they came from, or None."""
        return self._entries.get(name.lower())


def _tokens(text: str) -> list[_Token]:
    """RFC 822 tokens of `text`: quoted strings unquoted, comments turned into spaces.
    Raises ValueError for an unclosed quote or comment."""
    tokens: list[_Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            content: list[str] = []
            index += 1
            while True:
                if index >= len(text):
                    raise ValueError("a double quote is never closed")
                if text[index] == "\\" and index + 1 < len(text):
                    content.append(text[index + 1])
                    index += 2
                elif text[index] == '"':
                    index += 1
                    break
                else:
                    content.append(text[index])
                    index += 1
            tokens.append(_Token("quoted", "".join(content)))
        elif char == "(":
            depth = 0
            while True:
                if index >= len(text):
                    raise ValueError("a '(' comment is never closed by ')'")
                if text[index] == "\\":
                    index += 2
                    continue
                depth += (text[index] == "(") - (text[index] == ")")
                index += 1
                if depth == 0:
                    break
            tokens.append(_Token("space", " "))
        elif char in WHITESPACE:
            end = index
            while end < len(text) and text[end] in WHITESPACE:
                end += 1
            tokens.append(_Token("space", " "))
            index = end
        elif char in _SPECIALS:
            tokens.append(_Token("special", char))
            index += 1
        else:
            end = index
            while end < len(text) and text[end] not in WHITESPACE + _SPECIALS + '"(':
                end += 1
            tokens.append(_Token("atom", text[index:end]))
            index = end
    return tokens


def _strip(tokens: list[_Token]) -> list[_Token]:
    start, end = 0, len(tokens)
    while start < end and tokens[start].kind == "space":
        start += 1
    while end > start and tokens[end - 1].kind == "space":
        end -= 1
    return tokens[start:end]


def _joined(tokens: list[_Token]) -> str:
    return "".join(token.text for token in tokens)


def _name(tokens: list[_Token]) -> str:
    tokens = _strip(tokens)
    if not tokens:
        raise ValueError("there is no name before ':'")
    for token in tokens:
        if token.kind == "space":
            raise ValueError("the name contains a space; put it in double quotes")
        if token.kind == "special":
            raise ValueError(f"the name contains {token.text!r}; put it in double quotes")
        if token.kind == "atom" and ("@" in token.text or "%" in token.text):
            raise ValueError(
                "the name must be local, without '@': names apply to every local domain "
                "(per-domain aliases belong in the directory: `mailroom alias add`)"
            )
    return _joined(tokens).lower()


def _value(tokens: list[_Token]) -> str:
    """One destination, normalised: `local` or `local@domain`."""
    shown = _joined(tokens)
    if shown.startswith("|"):
        raise ValueError(
            f"{shown!r}: delivery to a command is not supported (Mailroom delivers only to "
            "mailboxes and addresses)"
        )
    if shown.startswith("/"):
        raise ValueError(
            f"{shown!r}: delivery to a file is not supported (Mailroom delivers only to "
            "mailboxes and addresses)"
        )
    if shown.lower().startswith(":include:"):
        raise ValueError(
            f"{shown!r}: :include: files are not supported; list the addresses here instead"
        )
    specials = [index for index, token in enumerate(tokens) if token.kind == "special"]
    if specials:
        kinds = [tokens[index].text for index in specials]
        if kinds != ["<", ">"] or _strip(tokens[specials[1] + 1 :]):
            raise ValueError(f"{shown!r} is not an address")
        tokens = _strip(tokens[specials[0] + 1 : specials[1]])
    if any(token.kind == "space" for token in tokens):
        raise ValueError(f"{shown!r}: separate addresses with commas")
    address = _joined(tokens)
    if not address:
        raise ValueError(f"{shown!r} is not an address")
    try:
        if "@" in address:
            return normalize_address(address)
        return normalize_local_part(address)
    except InvalidAddress as error:
        raise ValueError(
            f"{shown!r} is not an address Mailroom can deliver to: {error.reason}"
        ) from None


def _parse_line(text: str) -> tuple[str, tuple[str, ...]]:
    tokens = _tokens(text)
    colon = next(
        (index for index, token in enumerate(tokens) if token == _Token("special", ":")), None
    )
    if colon is None:
        raise ValueError("expected 'name: value, value...'")
    name = _name(tokens[:colon])
    values: list[str] = []
    group: list[_Token] = []
    for token in [*tokens[colon + 1 :], _Token("special", ",")]:
        if token != _Token("special", ","):
            group.append(token)
            continue
        group = _strip(group)
        if group:
            value = _value(group)
            if value not in values:
                values.append(value)
        group = []
    if not values:
        raise ValueError(f"there is no value after '{name}:'")
    return name, tuple(values)


def parse_aliases_file(text: str, path: Path | str) -> AliasesFile:
    """Parse the text of an aliases file; MapFileError at the first mistake."""
    path = Path(path)
    entries: dict[str, AliasEntry] = {}
    for line in logical_lines(text, path):
        try:
            name, values = _parse_line(line.text)
        except ValueError as error:
            raise MapFileError(path, line.number, str(error)) from None
        if name in entries:
            log.warning(
                "%s:%d: duplicate name %r; the entry on line %d is used, as Postfix does",
                path,
                line.number,
                name,
                entries[name].line,
            )
            continue
        entries[name] = AliasEntry(values, line.number)
    return AliasesFile(path, entries)


def load_aliases_file(path: Path) -> AliasesFile:
    """Read and parse an aliases file; MapFileError if it cannot be used."""
    return parse_aliases_file(read_map_file(path), path)
