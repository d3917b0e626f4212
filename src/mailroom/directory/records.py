"""The directory's records as plain immutable values, the only shapes that leave it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Domain:
    name: str
    created: datetime


@dataclass(frozen=True)
class Account:
    address: str
    """Primary address, also the login name."""
    display_name: str
    password_hash: str
    quota_bytes: int | None
    """Mailbox storage limit; None means unlimited."""
    enabled: bool
    extra_addresses: tuple[str, ...]
    """Other addresses delivered to this account (the legacy `fullnamealias`)."""
    created: datetime


@dataclass(frozen=True)
class Alias:
    address: str
    targets: tuple[str, ...]
    """Local or external addresses the alias forwards to."""
    send_as: tuple[str, ...]
    """Accounts (primary addresses) allowed to use the alias as their sender."""


@dataclass(frozen=True)
class Transport:
    domain: str
    nexthop: str
    """Normalised `[host]:port` (brackets: no MX lookup) or `host:port` (MX lookup)."""
