"""What ManageSieve sessions are given: the few settings they read, the script checker
and the services they use. `mailroom.app` builds one `ManageSieveServices` for all
ManageSieve listeners; a session gets it, its listener and its server's session
registry, never the server itself nor the whole `Config`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from mailroom.auth import Authenticator
from mailroom.net import ExternalLogin, TlsContexts
from mailroom.store import SieveScripts


class ScriptChecker(Protocol):
    """Judges a script as delivery would run it (`mailroom.sieve.check_script`, injected
    by `mailroom.app`). Pure and possibly slow on a large script: sessions call it in a
    thread."""

    def __call__(self, source: bytes, name: str) -> str | None:
        """None for a valid script; else what is wrong, naming the line
        (`line 3: unknown command 'fileinot'`)."""


@dataclass(frozen=True)
class ManageSieveSettings:
    """What ManageSieve reads from the configuration (`[sieve]`)."""

    max_script_size: int
    """The largest script literal read (larger ones get NO (QUOTA/MAXSIZE) unread)."""
    max_redirects: int
    """Announced as MAXREDIRECTS (RFC 5804 §1.7)."""
    extensions: tuple[str, ...]
    """The SIEVE capability: what scripts may `require` (`mailroom.sieve.EXTENSIONS`)."""


@dataclass(frozen=True)
class ManageSieveServices:
    settings: ManageSieveSettings
    authenticator: Authenticator
    tls: TlsContexts | None
    open_scripts: Callable[[str], Awaitable[SieveScripts]]
    """The scripts of a logged-in account (its primary address)."""
    check_script: ScriptChecker
    external: ExternalLogin | None = None
    """SASL EXTERNAL (client certificates); None: refused."""
