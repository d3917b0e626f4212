"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from mailroom.auth import Authenticator
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.directory import Directory


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
