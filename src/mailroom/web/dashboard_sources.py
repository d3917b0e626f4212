"""What the dashboard reads that the web may not reach itself (DKIM keys live in
mailauth's directory, bans in the throttle, the hourly history is fed by the app): the
shapes the app's wiring (`app/web.py`) fills into `WebServices`. Declared as small
Protocols and records so the web depends on what it uses, not on who provides it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class BanLike(Protocol):
    """One ban in force (the throttle's `Ban`)."""

    @property
    def kind(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def remaining(self) -> float:
        """Seconds until it ends by itself."""
        ...


class BanSource(Protocol):
    """The throttle's bans (what `/admin/bans` lists and lifts; the dashboard counts)."""

    async def bans(self, limit: int = ...) -> Sequence[BanLike]: ...


@dataclass(frozen=True)
class DkimKeyAge:
    """A domain's DKIM key: keys do not expire, but should be replaced now and then."""

    domain: str
    selector: str
    algorithm: str
    created: datetime
    """When the key file was written (UTC)."""
