"""IDLE wake-ups across the processes of one host.

With IMAP worker processes, a message delivered by the main process (SMTP), or an
APPEND, STORE or EXPUNGE in one worker, must wake an IDLE session in another worker at
once, not at its next 5-second stat poll. Each process has one `EventHub` on its
`MailboxEvents`: a worker's has one link, to the main process; the main process's has
one per worker and relays what it hears from one worker to the others (a star, so a
worker knows nobody but its parent).

A notify frame carries only folder keys (`folder_key`: the folder's absolute path);
what changed is for the woken session to find out, as within one process. Keys notified
while the event loop is busy are gathered and sent once per loop turn, so a burst of
STOREs on one folder costs one frame. Nothing here waits: if the hub is gone (or a
peer does not read), frames are dropped and the stat poll still finds the change.

A change to an account's folder list (created, deleted, renamed, subscribed,
unsubscribed: IMAP NOTIFY's MailboxName and SubscriptionChange, RFC 5465 §5.4-5.5)
travels as a list frame of its own, one per change and in the order announced, with
the account's key (its root folder's `folder_key`):

    {"k": "list", "root": "/srv/mail/alice/Maildir", "kind": "renamed",
     "name": "Archive", "old": "Projects"}

No stat poll finds such a change again: a list frame dropped (a peer that does not
read) is a NOTIFY event lost, as on an overflowing listener of one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from mailroom.ipc import Link, Message
from mailroom.store.events import ListChange, ListChangeKind, MailboxEvents

log = logging.getLogger("mailroom.store")

NOTIFY = "notify"
"""The kind of a frame of folder keys."""
MAX_KEYS = 200
"""Keys in one frame (more are sent in several)."""
MAX_KEY = 4096
"""Longest key (a path; PATH_MAX on Linux)."""
LIST = "list"
"""The kind of a frame of one folder-list change."""
MAX_NAME = 4096
"""Longest folder name in a list frame."""


class EventFrameError(ValueError):
    """A notify frame that is not one."""


def notify_frame(keys: list[str]) -> Message:
    return {"k": NOTIFY, "keys": keys}


def parse_notify(message: Message) -> list[str]:
    """The folder keys of a notify frame; EventFrameError if it is not one."""
    keys = message.get("keys")
    if not isinstance(keys, list) or not 0 < len(keys) <= MAX_KEYS:
        raise EventFrameError(f"a notify frame needs 1 to {MAX_KEYS} keys")
    return [_key(key) for key in keys]


def _key(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY or not value.startswith("/"):
        raise EventFrameError("a notify key is not an absolute path")
    if "\x00" in value:
        raise EventFrameError("a notify key holds a NUL")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME or "\x00" in value:
        raise EventFrameError(f"a folder name is 1 to {MAX_NAME} characters, no NUL")
    return value


def list_frame(root: str, change: ListChange) -> Message:
    frame: Message = {"k": LIST, "root": root, "kind": change.kind.value, "name": change.name}
    if change.old_name is not None:
        frame["old"] = change.old_name
    return frame


def parse_list(message: Message) -> tuple[str, ListChange]:
    """The account key and change of a list frame; EventFrameError if it is not one."""
    root = _key(message.get("root"))
    try:
        kind = ListChangeKind(message.get("kind"))
    except ValueError:
        raise EventFrameError("a list frame's kind is unknown") from None
    name = _name(message.get("name"))
    old = message.get("old")
    if (kind is ListChangeKind.RENAMED) != (old is not None):
        raise EventFrameError("a list frame has an old name if and only if it is a rename")
    return root, ListChange(kind, name, None if old is None else _name(old))


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
        self._changes: list[Message] = []
        """List frames announced since the last flush, in order."""
        self._guard = threading.Lock()  # notify() may come from a delivery thread
        self._scheduled = False
        events.forward_to(self._queue)
        events.forward_list_to(self._queue_list)

    def attach(self, link: Link) -> None:
        self._links.append(link)
        link.on(NOTIFY, lambda message: self._heard(link, message))
        link.on(LIST, lambda message: self._heard_list(link, message))

    def detach(self, link: Link) -> None:
        if link in self._links:
            self._links.remove(link)

    def close(self) -> None:
        self._events.forward_to(None)
        self._events.forward_list_to(None)
        self._links.clear()

    def _queue(self, key: str) -> None:
        with self._guard:
            self._pending.add(key)
            if self._scheduled:
                return
            self._scheduled = True
        self._schedule()

    def _queue_list(self, root: str, change: ListChange) -> None:
        with self._guard:
            self._changes.append(list_frame(root, change))
            if self._scheduled:
                return
            self._scheduled = True
        self._schedule()

    def _schedule(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the process is ending
            self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._guard:
            keys, self._pending = sorted(self._pending), set()
            changes, self._changes = self._changes, []
            self._scheduled = False
        frames = frames_of(keys) + changes
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
        self._pass_on(origin, notify_frame(keys))

    def _heard_list(self, origin: Link, message: Message) -> None:
        try:
            root, change = parse_list(message)
        except EventFrameError as error:
            log.error("%s: closed after a bad list frame: %s", origin.name, error)
            origin.close()
            return
        self._events.announce_here(root, change)
        self._pass_on(origin, list_frame(root, change))

    def _pass_on(self, origin: Link, frame: Message) -> None:
        """Main process: what one worker said, to the others."""
        if self._relay:
            for link in self._links:
                if link is not origin:
                    link.send(frame)
