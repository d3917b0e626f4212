"""The message as one run of the scripts sees it: its header fields, which editheader
(RFC 5293) may change while the run goes on, and the values the tests compare.

Tests after an edit see the edited header; `header_change()` is what an action taken
after an edit carries (`actions.HeaderChange`). Values are decoded and unfolded as RFC
5228 §2.7.2 asks (RFC 2047 encoded words), addresses parsed by `mailroom.message`.
"""

from __future__ import annotations

from mailroom.message.addresses import MISSING_DOMAIN, MISSING_MAILBOX, parse_addresses
from mailroom.message.headers import decode_header, parse_header_block
from mailroom.sieve.actions import HeaderChange


class MessageView:
    def __init__(self, header: bytes, size: int) -> None:
        block = parse_header_block(header, 0, len(header))
        self._fields: list[tuple[str, bytes]] = [(f.name, f.value) for f in block.fields]
        self.size = size
        self.changed = False
        self._decoded: dict[str, list[str]] = {}
        self._by_name: dict[str, list[bytes]] | None = None
        self._addresses: dict[str, list[list[tuple[str, str]]]] = {}
        """Per-run caches: a script tests the same few fields again and again (a
        30-rule script parsed From: six times a message before these)."""

    @property
    def fields(self) -> tuple[tuple[str, bytes], ...]:
        """Every field in order: (name as written, raw value with its folding)."""
        return tuple(self._fields)

    def raw_values(self, name: str) -> list[bytes]:
        if self._by_name is None:
            self._by_name = {}
            for field, value in self._fields:
                self._by_name.setdefault(field.lower(), []).append(value)
        return self._by_name.get(name.lower(), [])

    def values(self, name: str) -> list[str]:
        """The field's values decoded (RFC 2047), unfolded, without surrounding blanks."""
        wanted = name.lower()
        cached = self._decoded.get(wanted)
        if cached is None:
            cached = [decode_header(raw).strip(" \t") for raw in self.raw_values(wanted)]
            self._decoded[wanted] = cached
        return cached

    def field_addresses(self, name: str) -> list[list[tuple[str, str]]]:
        """For each occurrence of the field, (local part, domain) of each mailbox in it
        (groups flattened, their markers left out); "" for a part that is missing."""
        wanted = name.lower()
        cached = self._addresses.get(wanted)
        if cached is not None:
            return cached
        result: list[list[tuple[str, str]]] = []
        for raw in self.raw_values(name):
            mailboxes: list[tuple[str, str]] = []
            for address in parse_addresses(raw):
                if address.host is None:
                    continue  # a group's start or end marker
                local = address.mailbox or ""
                local = "" if local == MISSING_MAILBOX else local
                domain = "" if address.host == MISSING_DOMAIN else address.host
                mailboxes.append((local, domain))
            result.append(mailboxes)
        self._addresses[wanted] = result
        return result

    # editheader's primitives (RFC 5293); the extension decides what to call.
    def insert(self, index: int, name: str, value: bytes) -> None:
        self._fields.insert(index, (name, value))
        self._touched()

    def remove(self, indices: set[int]) -> None:
        self._fields = [field for i, field in enumerate(self._fields) if i not in indices]
        self._touched()

    def _touched(self) -> None:
        self.changed = True
        self._decoded.clear()
        self._by_name = None
        self._addresses.clear()

    def header_change(self) -> HeaderChange | None:
        return HeaderChange(tuple(self._fields)) if self.changed else None
