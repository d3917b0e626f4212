"""NOTIFY (RFC 5465): what a session asked to hear of, and when it hears it.

The session keeps one `Notifier`. Until the client's first NOTIFY it changes nothing:
the session is plain IMAP. NOTIFY SET replaces what the client asked for:

- The SELECTED or SELECTED-DELAYED group shapes the selected mailbox's untagged
  updates: `session.flush_updates` asks `holds` (no group, or `NONE`: no message
  events for the selected mailbox, §3.1; the client's own EXPUNGE and MOVE still
  answer for themselves, or its numbers would be wrong), `expunges`, `flag_changes`,
  and after an EXISTS `after_updates` sends MessageNew's FETCH (§5.2).
- The other groups are a `WatchedMailboxes` (notify_mailboxes.py), fed by an
  `AccountListener` of the store's events: STATUS and LIST responses.

When: before every tagged reply, as any untagged update; in IDLE, exactly the events
asked for (§4); and — the point of NOTIFY — while the session waits for the client's
next command (`wait`). Then the selected mailbox's expunges go at once with SELECTED
(the client uses UIDs, §5.3) and wait for a command that may see them with
SELECTED-DELAYED (§6.1.2; IDLE is one), as Dovecot does.

Limits: at most MAX_NAMES mailbox names and MAX_FOLDERS folders watched for message
events (else NO [NOTIFICATIONOVERFLOW], as Dovecot answers too many names), and at
most MAX_QUEUED changes waiting to be told: past that the session says `* OK
[NOTIFICATIONOVERFLOW]` and acts as after NOTIFY NONE (§5.8). Events this server
lacks (AnnotationChange and the METADATA ones) get NO [BADEVENT (the supported
ones)] (§3.1).
"""

from __future__ import annotations

import asyncio
import contextlib
from bisect import bisect_right
from collections.abc import Awaitable, Callable
from typing import Any

from mailroom.imap import responses
from mailroom.imap.commands import Command, Notify, NotifyFilter, NotifyGroup
from mailroom.imap.context import SessionContext
from mailroom.imap.fetch import fetch_responses
from mailroom.imap.mailbox_commands import account_of
from mailroom.imap.notify_arguments import SELECTED_FILTERS
from mailroom.imap.notify_mailboxes import WatchedMailboxes, status_line
from mailroom.imap.selected import SelectedView
from mailroom.imap.wire import Atom, status_response
from mailroom.store import AccountListener, FolderNameError, Mailbox, Waiter

SUPPORTED = ("MessageNew", "MessageExpunge", "FlagChange", "MailboxName", "SubscriptionChange")
"""The events offered; BADEVENT lists them (RFC 5465 §3.1)."""
MAX_NAMES = 100
"""Mailbox names in SUBTREE and MAILBOXES groups (Dovecot: 100 per namespace)."""
MAX_FOLDERS = 1000
"""Folders watched for message events: each costs a STATUS now and at each change."""
MAX_QUEUED = 500
"""Changes waiting to be told (folders changed, list changes) before NOTIFICATIONOVERFLOW."""
OWN_EXPUNGES = frozenset({"EXPUNGE", "MOVE"})
"""Commands whose own expunges are answered even when NOTIFY holds the others back."""
OVERFLOW = status_response(
    None, "OK", "Too many notifications; NOTIFY is now off.", Atom("NOTIFICATIONOVERFLOW")
)

Flush = Callable[[], Awaitable[None]]


class Notifier:
    """One session's NOTIFY state (RFC 5465); inactive until the client sends NOTIFY."""

    def __init__(self) -> None:
        self.spec: Notify | None = None
        """The last NOTIFY (NONE after an overflow); None before the first."""
        self.selected: NotifyGroup | None = None
        self.mailboxes: WatchedMailboxes | None = None
        self.listener: AccountListener | None = None
        self._between = False
        """Waiting between commands (not in IDLE): SELECTED-DELAYED holds expunges."""
        self._watch: tuple[Mailbox, contextlib.AsyncExitStack, Waiter] | None = None
        """The selected mailbox's watch, kept from one wait to the next: entering one
        costs a look at the disk, and a change between two waits is kept by the Waiter."""

    @property
    def active(self) -> bool:
        """NOTIFY asked for events: the session tells them while it waits, too."""
        return self.listener is not None or self._selected_events

    @property
    def _selected_events(self) -> bool:
        return self.selected is not None and bool(self.selected.events)

    async def close(self) -> None:
        """The session ends: stop listening."""
        self._set(None, None, None, None)
        await self._unwatch()

    def _set(
        self,
        spec: Notify | None,
        selected: NotifyGroup | None,
        mailboxes: WatchedMailboxes | None,
        listener: AccountListener | None,
    ) -> None:
        if self.listener is not None:
            self.listener.close()
        self.spec, self.selected, self.mailboxes, self.listener = (
            spec,
            selected,
            mailboxes,
            listener,
        )

    # -- the selected mailbox ---------------------------------------------------------------

    def holds(self, command: Command | None) -> bool:
        """Whether the selected mailbox's updates are held back now (see the module)."""
        if self.spec is None or self._selected_events:
            return False
        return command is None or command.name not in OWN_EXPUNGES

    def expunges(self, allowed: bool) -> bool:
        """Whether expunges may be told now; `allowed`: by RFC 9051 §7.5.1 alone."""
        if not self._selected_events:
            return allowed
        assert self.selected is not None
        if self.selected.filter is NotifyFilter.SELECTED:
            return True
        return allowed and not self._between

    @property
    def flag_changes(self) -> bool:
        """Whether the selected mailbox's flag changes are told (FlagChange, §5.1)."""
        return not self._selected_events or "FlagChange" in self.selected.events  # type: ignore[union-attr]

    async def after_updates(self, session: SessionContext, view: SelectedView, last: int) -> None:
        """MessageNew's FETCH of the messages past UID `last` that the updates just
        announced with EXISTS (RFC 5465 §5.2)."""
        if self.selected is None or not self.selected.fetch:
            return
        new = view.uids[bisect_right(view.uids, last) :].tolist()
        if new:
            await fetch_responses(session, view, new, self.selected.fetch)

    # -- NOTIFY ---------------------------------------------------------------------------

    async def command(self, session: SessionContext, command: Command) -> None:
        """NOTIFY SET and NOTIFY NONE (RFC 5465 §3.1)."""
        args = command.args
        assert isinstance(args, Notify)
        if args.groups is None:
            self._set(args, None, None, None)
            await session.tagged_ok(command, "NOTIFY completed.")
            return
        asked = {event for group in args.groups for event in group.events}
        if not asked <= set(SUPPORTED):
            raise responses.no("Unsupported NOTIFY events.", f"BADEVENT ({' '.join(SUPPORTED)})")
        selected = next((g for g in args.groups if g.filter in SELECTED_FILTERS), None)
        others = [g for g in args.groups if g.filter not in SELECTED_FILTERS]
        mailboxes = WatchedMailboxes.of(session, others)
        if mailboxes.names > MAX_NAMES:
            raise responses.no("Too many mailbox names", "NOTIFICATIONOVERFLOW")
        if not mailboxes.groups:
            self._set(args, selected, None, None)
            await session.tagged_ok(command, "NOTIFY completed.")
            return
        account = account_of(session)
        if mailboxes.wants_subscriptions:
            mailboxes.subscribed = set(await account.subscriptions())
        watched = mailboxes.watched(await account.folders(), selected_name(session))
        if len(watched) > MAX_FOLDERS:
            raise responses.no("Too many mailboxes to watch", "NOTIFICATIONOVERFLOW")
        # Listening before the first look: nothing that changes meanwhile is missed.
        listener = account.store.events.listen(account.root, limit=MAX_QUEUED)
        self._set(args, selected, mailboxes, listener)
        for name in watched:
            status = await mailboxes.remember(account, name)
            if status is not None and args.status:  # RFC 5465 §3.1: before the OK
                session.write(status_line(session, name, status))
        await session.tagged_ok(command, "NOTIFY completed.")

    # -- the other mailboxes ------------------------------------------------------------------

    async def flush(self, session: SessionContext) -> None:
        """Tell the client what came for its other mailboxes since the last flush."""
        listener, mailboxes = self.listener, self.mailboxes
        if listener is None or mailboxes is None or not listener.pending:
            return
        folders, changes, overflowed = listener.take()
        if overflowed:
            self._set(Notify(None), None, None, None)  # RFC 5465 §5.8: as NOTIFY NONE
            session.write(OVERFLOW)
            return
        out: list[bytes | None] = []
        if changes:
            listing = await account_of(session).folders()
            for change in changes:
                out.append(mailboxes.list_change(session, change, listing))
        selected = selected_name(session)
        for key in sorted(folders):
            out.append(await mailboxes.status_change(session, key, selected))
        session.write(b"".join(line for line in out if line))

    # -- waiting ----------------------------------------------------------------------------

    async def wait(
        self,
        session: SessionContext,
        done: asyncio.Future[bytes],
        flush: Flush,
        *,
        keepalive: float | None = None,
    ) -> None:
        """Tell the client of events as they come until its next line (`done`) has come.
        `flush` sends the selected mailbox's updates and the others' (the session's
        flush_updates). `keepalive`: in IDLE, the seconds between `* OK Still here`;
        None between commands, where SELECTED-DELAYED's expunges wait."""
        self._between = keepalive is None
        try:
            waiter = await self._watch_selected(session.selected, flush)
            await session.drain()
            await self._until(session, done, flush, waiter, keepalive)
        finally:
            self._between = False

    async def _watch_selected(self, view: SelectedView | None, flush: Flush) -> Waiter | None:
        """The Waiter of the selected mailbox, when its events are asked for."""
        if view is None or not self._selected_events:
            await self._unwatch()
            return None
        if self._watch is not None and self._watch[0] is view.mailbox:
            return self._watch[2]
        await self._unwatch()
        stack = contextlib.AsyncExitStack()
        waiter = await stack.enter_async_context(view.mailbox.watch())
        self._watch = (view.mailbox, stack, waiter)
        await flush()  # what came before the watch began
        return waiter

    async def _unwatch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            await watch[1].aclose()

    async def _until(
        self,
        session: SessionContext,
        done: asyncio.Future[bytes],
        flush: Flush,
        waiter: Waiter | None,
        keepalive: float | None,
    ) -> None:
        while not done.done():
            wakes = [asyncio.ensure_future(w.wait()) for w in (waiter, self.listener) if w]
            watched: set[asyncio.Future[Any]] = {done, *wakes}
            try:
                finished, _ = await asyncio.wait(
                    watched, timeout=keepalive, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for wake in wakes:
                    wake.cancel()
            if not finished:
                await session.send(b"* OK Still here\r\n")
            elif finished - {done}:
                await flush()
                await session.drain()


def selected_name(session: SessionContext) -> str | None:
    """The selected mailbox's name as the store spells it, if one is selected."""
    view = session.selected
    if view is None:
        return None
    try:
        return account_of(session).names.normalize(view.name)
    except FolderNameError:
        return view.name
