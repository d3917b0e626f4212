"""Address tables in Postfix's postmap(1) source form: `key  value` lines (the legacy
`cacert-inc-bcc`, used as recipient_bcc_maps).

As postmap reads them: the key is the text before the first whitespace, the value the
rest of the logical line; keys are folded to lower case; a key given twice keeps its
first value (with a warning). Keys are `user@domain`, `user` (a local name, for every
local domain) or `@domain`. Mailroom's tables map an address to one address (Postfix's
recipient_bcc_maps supports no more), so each value must be exactly one address; keys and
values are checked and normalised when the file is loaded.

Lookups follow postconf(5)'s search order for recipient_bcc_maps: `user+detail@domain`,
`user@domain`, then, only when the domain is local, `user+detail` and `user`, and
finally `@domain`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailroom.directory.addresses import (
    normalize_address,
    normalize_domain,
    normalize_local_part,
)
from mailroom.directory.errors import InvalidAddress
from mailroom.routing.map_file import WHITESPACE, MapFileError, logical_lines, read_map_file
from mailroom.routing.subaddress import split_detail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddressMapEntry:
    key: str
    value: str
    line: int


class AddressMap:
    """A parsed `key value` table; `lookup` is safe on any string."""

    def __init__(self, path: Path, entries: dict[str, AddressMapEntry]) -> None:
        self.path = path
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[AddressMapEntry]:
        return iter(self._entries.values())

    def __repr__(self) -> str:
        return f"<AddressMap {self.path} with {len(self)} keys>"

    def lookup(self, address: str, *, delimiters: str = "", local: bool = True) -> str | None:
        """The value for `address`, trying its keys in Postfix's order (module docstring).
        `delimiters` are the sub-address delimiters; `local` says whether the domain is
        one of ours, which lets bare `user` keys apply."""
        entry = self.entry(address, delimiters=delimiters, local=local)
        return None if entry is None else entry.value

    def entry(
        self, address: str, *, delimiters: str = "", local: bool = True
    ) -> AddressMapEntry | None:
        """Like `lookup`, with the key that matched and its line."""
        for key in _search_keys(address.lower(), delimiters, local):
            found = self._entries.get(key)
            if found is not None:
                return found
        return None


def _search_keys(address: str, delimiters: str, local: bool) -> list[str]:
    user, at, domain = address.rpartition("@")
    if not at:
        user, domain = address, ""
    split = split_detail(user, delimiters)
    users = [user] if split is None else [user, split[0]]
    keys = [f"{name}@{domain}" for name in users] if domain else []
    if local or not domain:
        keys.extend(users)
    if domain:
        keys.append(f"@{domain}")
    return keys


def _normalized_key(key: str) -> str:
    if key.startswith("@"):
        return "@" + normalize_domain(key[1:])
    if "@" in key:
        return normalize_address(key)
    return normalize_local_part(key)


def parse_address_map(text: str, path: Path | str) -> AddressMap:
    """Parse the text of a `key value` table; MapFileError at the first mistake."""
    path = Path(path)
    entries: dict[str, AddressMapEntry] = {}
    for line in logical_lines(text, path):
        key_end = 0
        while key_end < len(line.text) and line.text[key_end] not in WHITESPACE:
            key_end += 1
        raw_key, raw_value = line.text[:key_end], line.text[key_end:].strip(WHITESPACE)
        if not raw_value:
            raise MapFileError(path, line.number, f"expected 'key value', got only {raw_key!r}")
        try:
            key = _normalized_key(raw_key)
        except InvalidAddress as error:
            raise MapFileError(
                path,
                line.number,
                f"the key {raw_key!r} is not user@domain, user or @domain: {error.reason}",
            ) from None
        if any(char in WHITESPACE + "," for char in raw_value):
            raise MapFileError(path, line.number, f"one address per key, not {raw_value!r}")
        try:
            value = normalize_address(raw_value)
        except InvalidAddress as error:
            raise MapFileError(
                path, line.number, f"{raw_value!r} is not an address: {error.reason}"
            ) from None
        if key in entries:
            log.warning(
                "%s:%d: duplicate key %r; the entry on line %d is used, as Postfix does",
                path,
                line.number,
                key,
                entries[key].line,
            )
            continue
        entries[key] = AddressMapEntry(key, value, line.number)
    return AddressMap(path, entries)


def load_address_map(path: Path) -> AddressMap:
    """Read and parse a `key value` table file; MapFileError if it cannot be used."""
    return parse_address_map(read_map_file(path), path)
