"""What the web application is given: the host's services it uses, built by the app
package (`app/web.py`). The web package never builds a service itself, and reaches what
its table row does not allow (store, DNS, DKIM keys, Sieve scripts) through the small
protocols here, which the app fills in."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.auth import Authenticator, BanAdministration
from mailroom.config import Listener
from mailroom.config.web import WebConfig
from mailroom.control.administration import QueueAdministration
from mailroom.directory import Directory
from mailroom.queue import MailQueue
from mailroom.web.dns_publication import DnsPublication


@dataclass
class WebServices:
    settings: WebConfig
    hostname: str
    directory: Directory
    authenticator: Authenticator
    listeners: tuple[Listener, ...]
    """Every listener of the config (autoconfig names the mail ones, pages their ports)."""
    queue: MailQueue | None = None
    """The host's queue, read by /admin/queue (changes go through `queue_administration`)."""
    queue_administration: QueueAdministration | None = None
    """The control channel's own handler (`mailroom queue hold|release|...`), so the web
    changes the queue exactly as the CLI does."""
    bans: BanAdministration | None = None
    """The throttle's bans (/admin/bans); None where the throttle keeps none of its own."""
    dns: DnsPublication | None = None
    """DKIM keys, records to publish and what DNS holds (/admin/dns)."""
