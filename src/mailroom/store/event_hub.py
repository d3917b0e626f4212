"""IDLE wake-ups across the processes of one host.

With IMAP worker processes, a message delivered by the main process (SMTP), or an
APPEND, STORE or EXPUNGE in one worker, must wake an IDLE session in another worker at
once, not at its next 5-second stat poll. Each process has one `EventHub` on its
`MailboxEvents`: a worker's has one link, to the main process; the main process's has
one per worker and relays what it hears from one worker to the others (a star, so a
worker knows nobody but its parent).

A frame carries only folder keys (`folder_key`: the folder's absolute path); what
changed is for the woken session to find out, as within one process. Keys notified
while the event loop is busy are gathered and sent once per loop turn, so a burst of
STOREs on one folder costs one frame. Nothing here waits: if the hub is gone (or a
peer does not read), frames are dropped and the stat poll still finds the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from mailroom.ipc import Link, Message
from mailroom.store.events import MailboxEvents

log = logging.getLogger("mailroom.store")

NOTIFY = "notify"
"""The kind of a frame of folder keys."""
MAX_KEYS = 200
"""Keys in one frame (more are sent in several)."""
MAX_KEY = 4096
"""Longest key (a path; PATH_MAX on Linux)."""


class EventFrameError(ValueError):
    """A notify frame that is not one."""


def notify_frame(keys: list[str]) -> Message:
    return {"k": NOTIFY, "keys": keys}


def parse_notify(message: Message) -> list[str]:
    """The folder keys of a notify frame; EventFrameError if it is not one."""
    keys = message.get("keys")
    if not isinstance(keys, list) or not 0 < len(keys) <= MAX_KEYS:
        raise EventFrameError(f"a notify frame needs 1 to {MAX_KEYS} keys")
    for key in keys:
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY or not key.startswith("/"):
            raise EventFrameError("a notify key is not an absolute path")
        if "\x00" in key:
            raise EventFrameError("a notify key holds a NUL")
    return keys


def frames_of(keys: list[str]) -> list[Message]:
    return [notify_frame(keys[start : start + MAX_KEYS]) for start in range(0, len(keys), MAX_KEYS)]


class EventHub:
    """This process's end of the host's event channel; see the module's docstring."""

    def __init__(self, events: MailboxEvents, *, relay: bool) -> None:
        self._events = events
        self._relay = relay
        """Main process: pass what one link says on to the others."""
        self._loop = asyncio.get_running_loop()
        self._links: list[Link] = []
        self._pending: set[str] = set()
        self._guard = threading.Lock()  # notify() may come from a delivery thread
        self._scheduled = False
        events.forward_to(self._queue)

    def attach(self, link: Link) -> None:
        self._links.append(link)
        link.on(NOTIFY, lambda message: self._heard(link, message))

    def detach(self, link: Link) -> None:
        if link in self._links:
            self._links.remove(link)

    def close(self) -> None:
        self._events.forward_to(None)
        self._links.clear()

    def _queue(self, key: str) -> None:
        with self._guard:
            self._pending.add(key)
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the process is ending
            self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._guard:
            keys, self._pending = sorted(self._pending), set()
            self._scheduled = False
        frames = frames_of(keys)
        for link in self._links:
            for frame in frames:
                link.send(frame)

    def _heard(self, origin: Link, message: Message) -> None:
        try:
            keys = parse_notify(message)
        except EventFrameError as error:
            log.error("%s: closed after a bad notify frame: %s", origin.name, error)
            origin.close()
            return
        for key in keys:
            self._events.wake(key)
        if self._relay:
            frame = notify_frame(keys)
            for link in self._links:
                if link is not origin:
                    link.send(frame)
