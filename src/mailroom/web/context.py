"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from mailroom.auth import Authenticator
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.directory import Directory


class HealthSummary(Protocol):
    """What the host's health checks found (app/health.py `HealthReport`)."""

    @property
    def status(self) -> int:
        """The Nagios code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
        ...

    @property
    def ok(self) -> bool: ...

    def status_line(self) -> str:
        """`MAILROOM OK - ... | perfdata`, as `mailroom check` prints it."""
        ...

    def as_dict(self) -> dict[str, object]:
        """{"status": "ok", "checks": [{"check", "status", "summary"}, ...]}."""
        ...


@dataclass
class WebServices:
    settings: WebConfig
    hostname: str
    directory: Directory
    authenticator: Authenticator
    listeners: tuple[Listener, ...]
    """Every listener of the config (autoconfig names the mail ones, pages their ports)."""
    health: Callable[[], Awaitable[HealthSummary]] | None = None
    """The host's health checks (`mailroom check`'s: listeners, queue, certificates,
    disk, directory), run at each call; for `/healthz`."""
