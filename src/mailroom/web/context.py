"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.auth import Authenticator
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.directory import Directory


@dataclass
class WebServices:
    settings: WebConfig
    hostname: str
    directory: Directory
    authenticator: Authenticator
    listeners: tuple[Listener, ...]
    """Every listener of the config (autoconfig names the mail ones, pages their ports)."""
