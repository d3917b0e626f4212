"""What every protocol session shares, whatever its protocol: the rule for where a
password may be sent, the registry of a listener's sessions that stops them when idle,
and the limit on bad commands. Knows no protocol's wire format."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, Protocol, TypeVar

from mailroom.config import Listener
from mailroom.net.connection import Connection
from mailroom.net.listener import in_networks


def may_send_password(connection: Connection, listener: Listener) -> bool:
    """Plain-text passwords (LOGIN, USER/PASS, SASL PLAIN and LOGIN) only over TLS, or
    from the listener's `plaintext_networks` (RFC 9051 §6.2.3 LOGINDISABLED, RFC 2595 §4,
    RFC 4954 §4)."""
    return connection.tls is not None or in_networks(
        connection.peer_ip, listener.plaintext_networks
    )


class BadCommandLimit:
    """Counts a session's bad commands (and failed logins); the session ends when the
    count reaches the listener's `max_bad_commands`. A protocol calls `good()` where its
    reference starts the count again: Dovecot after any command that works, Postfix
    after a delivered message."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def bad(self) -> bool:
        """Count one; True when the session must now end."""
        self.count += 1
        return self.count >= self.limit

    def good(self) -> None:
        self.count = 0


class StoppableSession(Protocol):
    def stop_when_idle(self) -> None:
        """The server is stopping: end now if waiting for the client's next command,
        else after the command being worked on."""


S = TypeVar("S", bound=StoppableSession)


class SessionRegistry(Generic[S]):
    """The live sessions of one listener (or of several that share one registry)."""

    def __init__(self) -> None:
        self.sessions: set[S] = set()
        self.stopped = False
        """Set by `stop_all`; a session's loop checks it between commands."""

    @contextmanager
    def registered(self, session: S) -> Iterator[S]:
        """`with registry.registered(session): await session.run()`."""
        self.sessions.add(session)
        try:
            yield session
        finally:
            self.sessions.discard(session)

    def stop_all(self) -> None:
        """The listener is stopping (`SessionHandler.stopping`): every session ends when
        it is next idle; busy ones finish their command first."""
        self.stopped = True
        for session in list(self.sessions):
            session.stop_when_idle()

    def __len__(self) -> int:
        return len(self.sessions)
