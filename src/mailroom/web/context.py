"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mailroom.auth import Authenticator
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.directory import Directory
from mailroom.metrics.history import HourlyHistory
from mailroom.queue import MailQueue
from mailroom.web.dashboard_sources import BanSource, DkimKeyAge


class HostMetrics(Protocol):
    """The host's monitoring (app/monitoring.py `HostMonitoring`)."""

    async def exposition(self) -> bytes:
        """The `/metrics` text of the whole host (workers and queue measured now)."""
        ...

    async def problems(self) -> list[str]:
        """What keeps the host from working (empty: healthy), for `/healthz`."""
        ...

    async def refresh(self) -> HourlyHistory:
        """The hourly history with every count until now in it (else up to a minute old)."""
        ...


@dataclass
class WebServices:
    settings: WebConfig
    hostname: str
    directory: Directory
    authenticator: Authenticator
    listeners: tuple[Listener, ...]
    """Every listener of the config (autoconfig names the mail ones, pages their ports)."""
    metrics: HostMetrics | None = None
    """`/metrics` and `/healthz` (None: they answer 404)."""
    history: HourlyHistory | None = None
    """Per-hour counts of the last 48 hours for the dashboard (metrics.history); call
    `await metrics.refresh()` first for counts of the last minute too."""
    queue: MailQueue | None = None
    """The host's queue (the dashboard's picture of it; the queue pages)."""
    bans: BanSource | None = None
    """The throttle's bans, if this process's throttle keeps them."""
    certificate_files: tuple[tuple[str, Path], ...] = ()
    """(what it is for, path) of each TLS certificate the listeners use."""
    dkim_key_ages: Callable[[], Awaitable[list[DkimKeyAge]]] | None = None
    """The DKIM key of each domain that has one, with its age."""
    disk_paths: tuple[tuple[str, Path], ...] = ()
    """(what it holds, path) of the directories whose disks the dashboard shows."""
