"""NOTIFY's mailboxes other than the selected one (RFC 5465 §6.2-§6.6): which events the
client asked for each, and the untagged responses that tell it of them.

`WatchedMailboxes` is made by NOTIFY SET from its event groups (names decoded,
INBOX in capitals). It answers a change to the folder list with `* LIST` (§5.4
MailboxName: `\\NonExistent` after a delete, `("OLDNAME" (old))` after a rename; §5.5
SubscriptionChange: `\\Subscribed` if and only if subscribed now), and a change to a
folder's messages with `* STATUS name (MESSAGES n UIDNEXT n UIDVALIDITY n UNSEEN n)`
(§5.1-§5.3; HIGHESTMODSEQ too once CONDSTORE is on), but only when the change is of a
kind asked for: it remembers what it last told of each folder, so that a flag change
is not reported to a client that asked for MessageNew and MessageExpunge only, and a
wake-up that changed nothing reports nothing.

As in Dovecot, "inboxes" is taken as "personal" (every folder of the account: mail
may be delivered to any of them), a folder matched by several groups gets the events
of all of them, and the selected mailbox gets no STATUS (its changes go as EXISTS,
EXPUNGE and FETCH).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailroom.imap.commands import NotifyFilter, NotifyGroup
from mailroom.imap.context import SessionContext
from mailroom.imap.mailbox_commands import account_of, decode_name, encode_name
from mailroom.imap.responses import STORE_ERRORS
from mailroom.imap.wire import Atom, Value, format_flags, response
from mailroom.store import Account, FolderInfo, FolderNameError, FolderStatus, ListChange
from mailroom.store import ListChangeKind as Kind

MESSAGE_EVENTS = frozenset({"MessageNew", "MessageExpunge", "FlagChange"})
LIST_EVENTS = {
    Kind.CREATED: "MailboxName",
    Kind.DELETED: "MailboxName",
    Kind.RENAMED: "MailboxName",
    Kind.SUBSCRIBED: "SubscriptionChange",
    Kind.UNSUBSCRIBED: "SubscriptionChange",
}


@dataclass(frozen=True)
class _Group:
    kind: NotifyFilter
    names: frozenset[str]
    events: frozenset[str]


@dataclass
class WatchedMailboxes:
    """The non-selected event groups of one NOTIFY SET, and what was told of each folder."""

    groups: list[_Group]
    separator: str
    subscribed: set[str] = field(default_factory=set)
    """The subscriptions, kept up to date by SubscriptionChange (§6.4: re-evaluated)."""
    known: dict[str, FolderStatus] = field(default_factory=dict)
    """What the client was last told of each folder, by name."""

    @classmethod
    def of(cls, session: SessionContext, groups: list[NotifyGroup]) -> WatchedMailboxes:
        """The groups with events, their names decoded (NO for a name that cannot be)."""
        account = account_of(session)
        made = []
        for group in groups:
            if not group.events:
                continue  # `NONE`: the default anyway
            names = set()
            for raw in group.mailboxes:
                try:
                    names.add(account.names.normalize(decode_name(session, raw)))
                except FolderNameError:
                    continue  # names no folder, so matches none
            made.append(_Group(group.filter, frozenset(names), frozenset(group.events)))
        return cls(made, session.separator)

    @property
    def names(self) -> int:
        """How many names the groups give (SUBTREE, MAILBOXES)."""
        return sum(len(group.names) for group in self.groups)

    @property
    def wants_subscriptions(self) -> bool:
        return any(group.kind is NotifyFilter.SUBSCRIBED for group in self.groups)

    def events_for(self, name: str) -> frozenset[str]:
        """What the client wants to hear of the folder `name`."""
        wanted: frozenset[str] = frozenset()
        for group in self.groups:
            if self._matches(group, name):
                wanted |= group.events
        return wanted

    def _matches(self, group: _Group, name: str) -> bool:
        kind = group.kind
        if kind in (NotifyFilter.PERSONAL, NotifyFilter.INBOXES):
            return True
        if kind is NotifyFilter.SUBSCRIBED:
            return name in self.subscribed
        if kind is NotifyFilter.MAILBOXES:
            return name in group.names
        separator = self.separator
        return any(name == n or name.startswith(n + separator) for n in group.names)

    # -- STATUS ---------------------------------------------------------------------------

    def watched(self, folders: list[FolderInfo], selected: str | None) -> list[str]:
        """The existing, selectable folders with message events (not the selected one)."""
        return [
            folder.name
            for folder in folders
            if folder.selectable
            and "\\NonExistent" not in folder.attributes
            and folder.name != selected
            and self.events_for(folder.name) & MESSAGE_EVENTS
        ]

    async def remember(self, account: Account, name: str) -> FolderStatus | None:
        """The folder's status now, remembered as told (None when it is gone)."""
        try:
            status = await account.status(name)
        except STORE_ERRORS:
            self.known.pop(name, None)
            return None
        self.known[name] = status
        return status

    async def status_change(
        self, session: SessionContext, key: str, selected: str | None
    ) -> bytes | None:
        """The STATUS line for a change to the messages of the folder at `key`, if it is
        watched and changed in a way asked for."""
        account = account_of(session)
        name = account.name_of(key)
        if name is None or name == selected:
            return None
        wanted = self.events_for(name) & MESSAGE_EVENTS
        if not wanted:
            return None
        before = self.known.get(name)
        status = await self.remember(account, name)
        if status is None or not _reportable(
            before, status, flags="FlagChange" in wanted, condstore=session.condstore
        ):
            return None
        return status_line(session, name, status)

    # -- LIST -----------------------------------------------------------------------------

    def list_change(
        self, session: SessionContext, change: ListChange, folders: list[FolderInfo]
    ) -> bytes | None:
        """The LIST line for a change to the folder list, if one is asked for it."""
        name, old = change.name, change.old_name
        self._follow(change)
        wanted = self.events_for(name) | (self.events_for(old) if old else frozenset())
        if LIST_EVENTS[change.kind] not in wanted:
            return None
        # The listing is of now; several changes of one name may have come since this one.
        info = next((f for f in folders if f.name == name), None)
        attributes = set(info.attributes) if info is not None else {"\\NonExistent"}
        if change.kind is Kind.DELETED:
            attributes = {"\\NonExistent"}
        elif change.kind is Kind.SUBSCRIBED:
            attributes.add("\\Subscribed")
        elif change.kind is Kind.UNSUBSCRIBED:
            attributes.discard("\\Subscribed")
        data: list[Value] = [
            Atom("LIST"),
            format_flags(attributes),
            self.separator,
            encode_name(session, name),
        ]
        if old is not None:
            data.append(["OLDNAME", [encode_name(session, old)]])  # RFC 5465 §5.4
        return response(None, *data, utf8=session.utf8)

    def _follow(self, change: ListChange) -> None:
        """Keep the subscriptions and the statuses told in step with the change."""
        kind, name, old = change.kind, change.name, change.old_name
        if kind is Kind.SUBSCRIBED:
            self.subscribed.add(name)
        elif kind is Kind.UNSUBSCRIBED:
            self.subscribed.discard(name)
        elif kind is Kind.DELETED:
            self.known.pop(name, None)
        elif kind is Kind.RENAMED and old is not None:
            self.known.pop(old, None)
            if old in self.subscribed:  # the store moves subscriptions along
                self.subscribed.discard(old)
                self.subscribed.add(name)


def status_line(session: SessionContext, name: str, status: FolderStatus) -> bytes:
    """`* STATUS name (MESSAGES n UIDNEXT n UIDVALIDITY n UNSEEN n [HIGHESTMODSEQ n])`."""
    data: list[Value] = [
        Atom("MESSAGES"),
        status.messages,
        Atom("UIDNEXT"),
        status.uidnext,
        Atom("UIDVALIDITY"),
        status.uidvalidity,
        Atom("UNSEEN"),
        status.unseen,
    ]
    if session.condstore:  # RFC 5465 §5.1-§5.3
        data += [Atom("HIGHESTMODSEQ"), status.highestmodseq]
    return response(None, Atom("STATUS"), encode_name(session, name), data, utf8=session.utf8)


def _reportable(
    before: FolderStatus | None, now: FolderStatus, *, flags: bool, condstore: bool
) -> bool:
    """Whether the change from `before` is one to tell: new or expunged messages (or a
    new UIDVALIDITY) always, flag changes when asked for and visible in the line."""
    if before is None or before.uidvalidity != now.uidvalidity:
        return True
    added = now.uidnext - before.uidnext
    if added > 0 or now.messages < before.messages + added:
        return True
    if not flags:
        return False
    return now.unseen != before.unseen or (condstore and now.highestmodseq != before.highestmodseq)
