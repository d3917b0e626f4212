"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from mailroom.auth import Authenticator
from mailroom.auth.throttle import NoThrottle, Throttle
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.directory import Directory
from mailroom.net import ExternalLogin


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
    open_scripts: Callable[[str], Awaitable[MemberScripts]] | None = None
    """An account's Sieve scripts (self-service's vacation and forwarding); None when
    `[sieve]` is off."""
    external: ExternalLogin | None = None
    """Client-certificate logins (the host's CA bundle, CRLs and account mapping); None:
    no certificate logins."""
    throttle: Throttle = field(default_factory=NoThrottle)
    """The host's login throttle (TOTP codes count against it as passwords do)."""
    totp_steps: dict[str, int] = field(default_factory=dict)
    """The last TOTP time step each account logged in with: a code is good once."""
