"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from mailroom.auth import Authenticator
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.directory import Directory
from mailroom.metrics.history import HourlyHistory
from mailroom.queue import MailQueue
from mailroom.web.dashboard_sources import BanSource, DkimKeyAge


@dataclass
class WebServices:
    settings: WebConfig
    hostname: str
    directory: Directory
    authenticator: Authenticator
    listeners: tuple[Listener, ...]
    """Every listener of the config (autoconfig names the mail ones, pages their ports)."""
    queue: MailQueue | None = None
    """The host's queue (the dashboard's picture of it; the queue pages)."""
    bans: BanSource | None = None
    """The throttle's bans, if this process's throttle keeps them."""
    hourly_history: Callable[[], Awaitable[HourlyHistory]] | None = None
    """The host's per-hour counts, brought up to date (the metrics wiring fills it)."""
    certificate_files: tuple[tuple[str, Path], ...] = ()
    """(what it is for, path) of each TLS certificate the listeners use."""
    dkim_key_ages: Callable[[], Awaitable[list[DkimKeyAge]]] | None = None
    """The DKIM key of each domain that has one, with its age."""
    disk_paths: tuple[tuple[str, Path], ...] = ()
    """(what it holds, path) of the directories whose disks the dashboard shows."""
