"""Which handler runs each command on mailboxes and messages, and in which states it
may (RFC 9051 §6). The handlers get a `SessionContext`, not the session. The commands
on the connection itself (CAPABILITY, NOOP, LOGOUT, ID, ENABLE, COMPRESS, STARTTLS,
LOGIN, AUTHENTICATE, IDLE) are the session's own: `session.SESSION_COMMANDS`."""

from __future__ import annotations

from mailroom.imap import (
    fetch,
    mailbox_commands,
    message_commands,
    search,
    search_contexts,
    sort_commands,
)
from mailroom.imap.context import Handler
from mailroom.imap.responses import ImapError, bad
from mailroom.imap.state import AUTHENTICATED, NOT_AUTHENTICATED, SELECTED, State

COMMANDS: dict[str, tuple[Handler, frozenset[State]]] = {
    "SELECT": (mailbox_commands.select, AUTHENTICATED),
    "EXAMINE": (mailbox_commands.select, AUTHENTICATED),
    "CREATE": (mailbox_commands.create, AUTHENTICATED),
    "DELETE": (mailbox_commands.delete, AUTHENTICATED),
    "RENAME": (mailbox_commands.rename, AUTHENTICATED),
    "SUBSCRIBE": (mailbox_commands.subscribe, AUTHENTICATED),
    "UNSUBSCRIBE": (mailbox_commands.subscribe, AUTHENTICATED),
    "LIST": (mailbox_commands.list_mailboxes, AUTHENTICATED),
    "LSUB": (mailbox_commands.list_mailboxes, AUTHENTICATED),
    "STATUS": (mailbox_commands.status, AUTHENTICATED),
    "NAMESPACE": (mailbox_commands.namespace, AUTHENTICATED),
    "GETQUOTA": (mailbox_commands.getquota, AUTHENTICATED),
    "GETQUOTAROOT": (mailbox_commands.getquotaroot, AUTHENTICATED),
    "SETQUOTA": (mailbox_commands.setquota, AUTHENTICATED),
    "APPEND": (message_commands.append, AUTHENTICATED),
    "CHECK": (message_commands.check, SELECTED),
    "CLOSE": (message_commands.close, SELECTED),
    "UNSELECT": (message_commands.unselect, SELECTED),
    "EXPUNGE": (message_commands.expunge, SELECTED),
    "STORE": (message_commands.store, SELECTED),
    "COPY": (message_commands.copy, SELECTED),
    "MOVE": (message_commands.copy, SELECTED),
    "FETCH": (fetch.fetch, SELECTED),
    "SEARCH": (search.search, SELECTED),
    "SORT": (sort_commands.sort, SELECTED),
    "THREAD": (sort_commands.thread, SELECTED),
    "CANCELUPDATE": (search_contexts.cancelupdate, SELECTED),
}


def allowed_in(states: frozenset[State], current: State) -> ImapError:
    """The BAD for a command given in the wrong state (Dovecot's words)."""
    if current is State.NOT_AUTHENTICATED:
        return bad("Please login first.")
    if states == NOT_AUTHENTICATED:
        return bad("Already logged in.")
    return bad("No mailbox selected.")
