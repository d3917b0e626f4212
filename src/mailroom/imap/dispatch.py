"""Which handler runs each command, and in which states it may (RFC 9051 §6)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mailroom.imap import fetch, mailbox_commands, message_commands, search
from mailroom.imap.commands import Command
from mailroom.imap.responses import ImapError, bad
from mailroom.imap.session import ImapSession, State

Handler = Callable[[ImapSession, Command], Awaitable[None]]

ANY = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})
NOT_AUTHENTICATED = frozenset({State.NOT_AUTHENTICATED})
AUTHENTICATED = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED = frozenset({State.SELECTED})

COMMANDS: dict[str, tuple[Handler, frozenset[State]]] = {
    "CAPABILITY": (ImapSession.capability, ANY),
    "NOOP": (ImapSession.noop, ANY),
    "LOGOUT": (ImapSession.logout, ANY),
    "ID": (ImapSession.id, ANY),
    "STARTTLS": (ImapSession.starttls, NOT_AUTHENTICATED),
    "LOGIN": (ImapSession.login, NOT_AUTHENTICATED),
    "AUTHENTICATE": (ImapSession.authenticate, NOT_AUTHENTICATED),
    "ENABLE": (ImapSession.enable, AUTHENTICATED),
    "IDLE": (ImapSession.idle, AUTHENTICATED),
    "COMPRESS": (ImapSession.compress, AUTHENTICATED),
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
    "SORT": (search.sort, SELECTED),
    "THREAD": (search.thread, SELECTED),
}


def allowed_in(states: frozenset[State], current: State) -> ImapError:
    """The BAD for a command given in the wrong state (Dovecot's words)."""
    if current is State.NOT_AUTHENTICATED:
        return bad("Please login first.")
    if states == NOT_AUTHENTICATED:
        return bad("Already logged in.")
    return bad("No mailbox selected.")
