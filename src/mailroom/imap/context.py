"""What a command handler may use of its session (`SessionContext`): the handlers of
mailbox_commands, message_commands, fetch and search get this, never the session
object, so that they and the session do not import each other (DESIGN.md: no import
cycles; a handler gets a narrow context). `ImapSession` is the one implementation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from mailroom.imap.commands import Command
from mailroom.imap.selected import SelectedView
from mailroom.imap.services import ImapSettings
from mailroom.imap.state import State
from mailroom.store import Account


class SessionContext(Protocol):
    """The members of the session that command handlers use, and nothing else."""

    state: State
    selected: SelectedView | None
    account: Account | None
    """The logged-in account (set in every state a mailbox command is allowed in)."""
    enabled: set[str]
    """Extensions the client enabled (RFC 5161), and CONDSTORE once a command used it."""
    separator: str
    """The hierarchy separator of mailbox names."""

    @property
    def settings(self) -> ImapSettings: ...

    @property
    def utf8(self) -> bool:
        """UTF8=ACCEPT is enabled (RFC 6855)."""
        ...

    @property
    def condstore(self) -> bool: ...

    @property
    def qresync(self) -> bool: ...

    def enable_condstore(self) -> None:
        """A CONDSTORE-enabling command (RFC 7162 §3.1) turns CONDSTORE on, announcing
        the selected mailbox's HIGHESTMODSEQ if it was off."""

    def write(self, data: bytes) -> None:
        """Queue output; callers writing much await `drain` now and then."""

    async def drain(self) -> None:
        """Wait until the client has read what was written (flow control)."""

    async def send(self, data: bytes) -> None:
        """Write and drain."""

    async def tagged_ok(self, command: Command, text: str, code: object = None) -> None:
        """The command's tagged OK, after the untagged updates of the selected mailbox."""

    async def leave_selected(self) -> None:
        """Close the selected mailbox, if any (back to the authenticated state)."""


Handler = Callable[[SessionContext, Command], Awaitable[None]]
"""A command handler: runs one command, raises `ImapError` for a NO or BAD."""
