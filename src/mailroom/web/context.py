"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailroom.auth import Authenticator
from mailroom.auth.throttle import NoThrottle, Throttle
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.directory import Directory
from mailroom.net import ExternalLogin


@dataclass
class WebServices:
    settings: WebConfig
    hostname: str
    directory: Directory
    authenticator: Authenticator
    listeners: tuple[Listener, ...]
    """Every listener of the config (autoconfig names the mail ones, pages their ports)."""
    external: ExternalLogin | None = None
    """Client-certificate logins (the host's CA bundle, CRLs and account mapping); None:
    no certificate logins."""
    throttle: Throttle = field(default_factory=NoThrottle)
    """The host's login throttle (TOTP codes count against it as passwords do)."""
    totp_steps: dict[str, int] = field(default_factory=dict)
    """The last TOTP time step each account logged in with: a code is good once."""
