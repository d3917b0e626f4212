"""How many logged-in sessions each account has from each address, for
`[imap] max_connections_per_user_ip` (Dovecot's mail_max_userip_connections).

`LoginCounts` counts one process's sessions; a host with worker processes gives its
workers' IMAP servers a count kept by the main process instead
(`app/user_ip_logins.py`), through the same `LoginLimit`."""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from mailroom.net import IPAddress


class LoginLimit(Protocol):
    """Counts logged-in sessions per (account, client address) against the limit."""

    async def started(self, account: str, address: IPAddress) -> bool: ...

    def ended(self, account: str, address: IPAddress) -> None: ...


class LoginCounts:
    """The logged-in sessions of one listener, by (account, client address)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._logins: Counter[tuple[str, IPAddress]] = Counter()

    async def started(self, account: str, address: IPAddress) -> bool:
        """Count a logged-in session; False when the account has too many from `address`."""
        key = (account, address)
        if self._logins[key] >= self.limit:
            return False
        self._logins[key] += 1
        return True

    def ended(self, account: str, address: IPAddress) -> None:
        key = (account, address)
        self._logins[key] -= 1
        if self._logins[key] <= 0:
            del self._logins[key]
