"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mailroom.auth import Authenticator, BanAdministration
from mailroom.auth.throttle import NoThrottle, Throttle
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.control.administration import QueueAdministration
from mailroom.directory import Directory
from mailroom.metrics.history import HourlyHistory
from mailroom.net import ExternalLogin
from mailroom.queue import MailQueue
from mailroom.web.dashboard_sources import DkimKeyAge
from mailroom.web.dns_publication import DnsPublication
from mailroom.web.sessions import SessionStore


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


@dataclass(frozen=True)
class MapFileView:
    """One routing table file named in the config, as the admin's read-only page shows it
    (read and checked by the app with routing's own loaders: web may not import routing)."""

    kind: str
    """The config key naming it: `aliases_file`, `rewrite_maps`, `recipient_bcc_maps`,
    `transport_maps`."""
    path: str
    """As resolved against the config file's directory."""
    text: str | None
    """The file's text; None when it cannot be read."""
    entries: int | None
    """How many entries (rules) the loader found; None when it refused the file."""
    error: str | None
    """The loader's one-line refusal (`path:line: message`), or None."""


async def _no_map_files() -> Sequence[MapFileView]:
    return ()


async def _no_password_hashing(password: str) -> str:
    raise RuntimeError("the app did not give the web a password hasher")


class ScriptRefused(Exception):
    """A member's Sieve script was not stored (quota, a check failed); the message is fit
    for the member."""


@dataclass(frozen=True)
class ScriptState:
    """What a member's Sieve scripts look like from the self-service pages."""

    source: bytes | None
    """The script of the name asked for; None if there is none."""
    active: str | None
    """The active script's name; None if none is, or a hand-written file is."""
    hand_written_active: bool
    """The active script is a regular file written by hand (not a stored script)."""


class MemberScripts(Protocol):
    """One account's Sieve scripts, in the store ManageSieve edits (app/member_scripts.py
    fills it with store.SieveScripts)."""

    async def state(self, name: str) -> ScriptState: ...

    async def save(self, name: str, source: bytes, *, activate: bool) -> None:
        """Check and store the script `name`; make it the active one if `activate`.
        Raises ScriptRefused."""
        ...


@dataclass
class WebServices:
    settings: WebConfig
    hostname: str
    directory: Directory
    authenticator: Authenticator
    listeners: tuple[Listener, ...]
    """Every listener of the config (autoconfig names the mail ones, pages their ports)."""
    hash_password: Callable[[str], Awaitable[str]] = _no_password_hashing
    """A new password's argon2id hash with the config's `[auth.passwords]` parameters, made
    off the event loop; InvalidValue for a password the hasher refuses."""
    routing_map_files: Callable[[], Awaitable[Sequence[MapFileView]]] = _no_map_files
    """The `[routing]` table files of the config, read and checked now."""
    metrics: HostMetrics | None = None
    """`/metrics` and `/healthz` (None: they answer 404)."""
    history: HourlyHistory | None = None
    """Per-hour counts of the last 48 hours for the dashboard (metrics.history); call
    `await metrics.refresh()` first for counts of the last minute too."""
    certificate_files: tuple[tuple[str, Path], ...] = ()
    """(what it is for, path) of each TLS certificate the listeners use."""
    dkim_key_ages: Callable[[], Awaitable[list[DkimKeyAge]]] | None = None
    """The DKIM key of each domain that has one, with its age."""
    disk_paths: tuple[tuple[str, Path], ...] = ()
    """(what it holds, path) of the directories whose disks the dashboard shows."""
    queue: MailQueue | None = None
    """The host's queue, read by /admin/queue (changes go through `queue_administration`)."""
    queue_administration: QueueAdministration | None = None
    """The control channel's own handler (`mailroom queue hold|release|...`), so the web
    changes the queue exactly as the CLI does."""
    bans: BanAdministration | None = None
    """The throttle's bans (/admin/bans); None where the throttle keeps none of its own."""
    dns: DnsPublication | None = None
    """DKIM keys, records to publish and what DNS holds (/admin/dns)."""
    external: ExternalLogin | None = None
    """Client-certificate logins (the host's CA bundle, CRLs and account mapping); None:
    no certificate logins."""
    throttle: Throttle = field(default_factory=NoThrottle)
    """The host's login throttle (TOTP codes count against it as passwords do)."""
    totp_steps: dict[str, int] = field(default_factory=dict)
    """The last TOTP time step each account logged in with: a code is good once."""
    sessions: SessionStore | None = None
    """The logins of every web listener of the host (None: each application its own)."""
    open_scripts: Callable[[str], Awaitable[MemberScripts]] | None = None
    """An account's Sieve scripts (self-service's vacation and forwarding); None when
    `[sieve]` is off."""
