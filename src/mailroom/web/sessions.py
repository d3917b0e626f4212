"""Web logins: server-side sessions behind a random cookie.

The cookie holds only a random id (`__Host-` prefixed, Secure, HttpOnly, SameSite=Strict
on TLS listeners); what it stands for stays in this process, so a logout, a password
change or a restart ends a login at once, which a signed cookie could not. A session ends
after `session_idle_minutes` unused and `session_max_hours` after it began. Visitors
not logged in get a short anonymous session too: it carries the CSRF token of the login
form. The store is bounded: past its size the least recently used sessions go first.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from mailroom.config.web import WebConfig

MAX_SESSIONS = 10_000
"""Sessions kept at once (logged in or not); the least recently used is dropped first."""
ANONYMOUS_SECONDS = 30 * 60
"""A visitor's session before logging in (the login form's CSRF token) lasts this long."""


class Role(StrEnum):
    ADMIN = "admin"
    """An account of `[web] administrators`: the admin pages and its own pages."""
    MEMBER = "member"
    """Any other account: its own self-service pages only."""


@dataclass
class Session:
    id: str
    csrf_token: str
    started: float
    seen: float
    account: str | None = None
    """The logged-in account's primary address; None before login."""
    role: Role | None = None
    via: str = ""
    """How the login was made: "certificate", "password", "password+totp"."""
    pending: dict[str, str] = field(default_factory=dict)
    """Steps of a login in progress (e.g. the account awaiting its TOTP code)."""
    flash: list[str] = field(default_factory=list)
    """Messages shown once on the next page (what a change did)."""


class SessionStore:
    """The sessions of one web application (one process)."""

    def __init__(self, settings: WebConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = settings.session_idle_minutes * 60
        self.max_seconds = settings.session_max_hours * 3600
        self.clock = clock
        """Seconds, monotonic; a test moves its own to see a login expire."""
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def get(self, session_id: str | None) -> Session | None:
        """The live session of a cookie's id, marked as used now; None if it has ended."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if self._expired(session, now):
            del self._sessions[session_id]
            return None
        session.seen = now
        self._sessions.move_to_end(session_id)
        return session

    def new(self) -> Session:
        """A fresh anonymous session (a new id and CSRF token)."""
        now = self.clock()
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            started=now,
            seen=now,
        )
        self._sessions[session.id] = session
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    def log_in(self, session: Session, account: str, role: Role, via: str) -> Session:
        """The session that replaces `session` once `account` has logged in: a new id and
        CSRF token (no fixation of an id a visitor was given before login)."""
        self.end(session)
        fresh = self.new()
        fresh.account, fresh.role, fresh.via = account, role, via
        return fresh

    def end(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def end_all(self, account: str, keep: Session | None = None) -> int:
        """End every login of `account` but `keep` (after a password change); how many."""
        ended = [
            key
            for key, each in self._sessions.items()
            if each.account == account and each is not keep
        ]
        for key in ended:
            del self._sessions[key]
        return len(ended)

    def _expired(self, session: Session, now: float) -> bool:
        if session.account is None:
            return now - session.started > ANONYMOUS_SECONDS
        return now - session.seen > self.idle_seconds or now - session.started > self.max_seconds
