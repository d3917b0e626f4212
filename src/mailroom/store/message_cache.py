"""Values computed from message files (ENVELOPE, BODYSTRUCTURE), kept in memory for the
whole process, so that a FETCH of messages whose values are known needs no trip to a
store thread and no index query (webmail asks for a page's envelopes at every look).

Keyed by what names a message's octets: the field, the folder, the Maildir base name
(unique per delivered file, kept across flag changes) and the size on disk. A Maildir
file's octets never change under its name, so a value found here is always right (and
with the folder in the key, no file of one account can name another's value). The
folder's index (index.py) stays the persistent cache; this one only saves the way
there. Bounded by octets; the least recently used go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from mailroom.store.snapshot import MessageInfo

MEMORY_LIMIT = 16 * 1024 * 1024
"""Octets of values kept per process (an envelope is ~0.5 KiB: ~30,000 of them)."""

_Key = tuple[str, str, str, int]


class MessageValues:
    """An LRU of computed values; safe to use from the event loop and store threads."""

    def __init__(self, limit: int = MEMORY_LIMIT) -> None:
        self.limit = limit
        self._values: OrderedDict[_Key, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def known(
        self, field: str, messages: Iterable[MessageInfo]
    ) -> tuple[dict[int, bytes], list[MessageInfo]]:
        """The values held for these messages by UID, and the messages without one."""
        found: dict[int, bytes] = {}
        missing: list[MessageInfo] = []
        values = self._values
        with self._lock:
            for message in messages:
                key = (field, str(message.folder), message.base_name, message.stored_size)
                value = values.get(key)
                if value is None:
                    missing.append(message)
                else:
                    values.move_to_end(key)
                    found[message.uid] = value
        return found, missing

    def remember(
        self, field: str, messages: Iterable[MessageInfo], values_by_uid: dict[int, bytes]
    ) -> None:
        """Keep the values computed (or read from an index) for these messages."""
        values = self._values
        with self._lock:
            for message in messages:
                value = values_by_uid.get(message.uid)
                if value is None:
                    continue
                key = (field, str(message.folder), message.base_name, message.stored_size)
                old = values.pop(key, None)
                if old is not None:
                    self._size -= len(old)
                values[key] = value
                self._size += len(value)
            while self._size > self.limit and values:
                _, dropped = values.popitem(last=False)
                self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._values)


MESSAGE_VALUES = MessageValues()
"""The process's one cache (every account and folder: keys never collide)."""
