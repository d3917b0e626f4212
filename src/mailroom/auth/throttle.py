"""Brute-force throttling of logins: growing delays, then temporary bans (fail2ban, built in).

The legacy host's open to-do "throttle brute force attack attempts using fail2ban or
similar" is closed here, once, for every protocol: the `Authenticator` asks `check()`
before verifying anything and reports each failure and success. Two things are counted
inside `[auth.throttle] window_seconds`:

- failures per client address. Each failure is answered after a delay that doubles
  (`delay_base_seconds`, capped at `delay_max_seconds`); `max_failures_per_ip` of them ban
  the address for `ban_seconds`, right password or not. An IPv6 client is counted per /64,
  the block one host or household gets (RFC 6177), so hopping addresses inside it gains
  nothing; an IPv4-mapped IPv6 address counts as the IPv4 address it is.
- failures per account, from any address. `max_failures_per_account` of them lock the
  account for `ban_seconds` — except for the addresses that logged in to it successfully
  before, so a botnet guessing from thousands of addresses cannot lock the owner out.

`exempt_networks` (a webmail host logging in on behalf of everyone) are never counted.
Memory is bounded: at most `MAX_TRACKED` addresses and accounts each, the least recently
seen forgotten first, and entries with nothing left to remember are pruned.

`Throttle` is the interface the `Authenticator` uses; its methods are async so that a
shared (Redis) implementation for several nodes can come later. `MemoryThrottle` is the
one-process implementation; it never awaits, so each call is atomic on the event loop.
Hand-written because fail2ban works on log files after the fact, outside the process.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from mailroom.config import ThrottleConfig

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_TRACKED = 100_000
"""Addresses (and, separately, accounts) remembered at once; the least recently seen go."""
FAMILIAR_PER_ACCOUNT = 16
"""Addresses remembered per account as having logged in successfully."""
IPV6_CLIENT_PREFIX = 64
"""An IPv6 client is its /64 (RFC 6177): one host can use every address in it."""

Key = TypeVar("Key", IPNetwork, str)


@dataclass(frozen=True)
class ThrottleVerdict:
    allowed: bool
    retry_after: float
    """Seconds until a refused client may try again (0 when allowed)."""
    reason: str
    """For the log: allowed, exempt, disabled, ip_banned or account_locked."""


class Throttle(Protocol):
    async def check(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        """May this address try to log in to this account now?"""
        ...

    async def record_failure(self, ip: IPAddress, account: str) -> float:
        """Count a failed login; return the seconds to wait before answering it."""
        ...

    async def record_success(self, ip: IPAddress, account: str) -> None:
        """Note a successful login: the address becomes familiar to the account."""
        ...


class NoThrottle:
    """Counts nothing and refuses nothing (`mailroom auth test`, and tests)."""

    async def check(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        return ThrottleVerdict(allowed=True, retry_after=0.0, reason="disabled")

    async def record_failure(self, ip: IPAddress, account: str) -> float:
        return 0.0

    async def record_success(self, ip: IPAddress, account: str) -> None:
        return None


def canonical_client(ip: IPAddress) -> IPAddress:
    """The client's real address: a dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d,
    which must count, match networks and log as a.b.c.d."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def client_key(ip: IPAddress) -> IPNetwork:
    """What failures are counted against: the IPv4 address, or the IPv6 /64."""
    ip = canonical_client(ip)
    prefix = 32 if isinstance(ip, ipaddress.IPv4Address) else IPV6_CLIENT_PREFIX
    return ipaddress.ip_network((ip, prefix), strict=False)


@dataclass
class _Record:
    failures: deque[float]
    """Times of failures inside the window, oldest first, at most as many as ban at."""
    banned_until: float = 0.0
    familiar: OrderedDict[IPNetwork, None] = field(default_factory=OrderedDict)
    """Accounts only: addresses that logged in successfully, most recent last."""


class MemoryThrottle:
    """The Throttle of one process, in memory; `clock` is injectable for tests."""

    def __init__(
        self,
        config: ThrottleConfig,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self.config = config
        self._clock = clock
        self._max_tracked = max_tracked
        self._ips: OrderedDict[IPNetwork, _Record] = OrderedDict()
        self._accounts: OrderedDict[str, _Record] = OrderedDict()
        self._next_prune = clock() + config.window_seconds

    @property
    def tracked(self) -> tuple[int, int]:
        """(addresses, accounts) currently remembered, for metrics and tests."""
        return len(self._ips), len(self._accounts)

    async def check(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        if not self.config.enabled:
            return ThrottleVerdict(allowed=True, retry_after=0.0, reason="disabled")
        if self._exempt(ip):
            return ThrottleVerdict(allowed=True, retry_after=0.0, reason="exempt")
        key = client_key(ip)
        now = self._clock()
        by_ip = self._ips.get(key)
        if by_ip is not None and by_ip.banned_until > now:
            return ThrottleVerdict(False, by_ip.banned_until - now, "ip_banned")
        by_account = self._accounts.get(account)
        if (
            by_account is not None
            and by_account.banned_until > now
            and key not in by_account.familiar
        ):
            return ThrottleVerdict(False, by_account.banned_until - now, "account_locked")
        return ThrottleVerdict(allowed=True, retry_after=0.0, reason="allowed")

    async def record_failure(self, ip: IPAddress, account: str) -> float:
        if not self.config.enabled:
            return 0.0
        if self._exempt(ip):
            return 0.0
        now = self._clock()
        self._maybe_prune(now)
        from_ip = self._count(self._ips, client_key(ip), now, self.config.max_failures_per_ip)
        self._count(self._accounts, account, now, self.config.max_failures_per_account)
        return self._delay(from_ip)

    async def record_success(self, ip: IPAddress, account: str) -> None:
        # A success clears no failures: an attacker owning one account must not be able
        # to reset its count by logging in to it between guesses at others.
        if not self.config.enabled:
            return
        if self._exempt(ip):
            return
        key = client_key(ip)
        self._maybe_prune(self._clock())
        record = self._touch(self._accounts, account)
        record.familiar[key] = None
        record.familiar.move_to_end(key)
        while len(record.familiar) > FAMILIAR_PER_ACCOUNT:
            record.familiar.popitem(last=False)

    def _exempt(self, ip: IPAddress) -> bool:
        ip = canonical_client(ip)
        return any(ip in network for network in self.config.exempt_networks)

    def _touch(self, table: OrderedDict[Key, _Record], key: Key) -> _Record:
        """The key's record, created if need be, now the most recently seen."""
        record = table.get(key)
        if record is None:
            record = table[key] = _Record(failures=deque())
            while len(table) > self._max_tracked:
                table.popitem(last=False)
        else:
            table.move_to_end(key)
        return record

    def _count(self, table: OrderedDict[Key, _Record], key: Key, now: float, limit: int) -> int:
        """Count a failure against `key`; ban it on reaching `limit`. Returns the failures
        inside the window, this one included."""
        record = self._touch(table, key)
        self._forget_old(record, now)
        record.failures.append(now)
        count = len(record.failures)
        if count >= limit:
            record.banned_until = now + self.config.ban_seconds
            # The ban is the punishment for these failures; after it, counting starts over.
            record.failures.clear()
        return count

    def _forget_old(self, record: _Record, now: float) -> None:
        horizon = now - self.config.window_seconds
        while record.failures and record.failures[0] <= horizon:
            record.failures.popleft()

    def _delay(self, failures: int) -> float:
        base, cap = self.config.delay_base_seconds, self.config.delay_max_seconds
        if base <= 0:
            return 0.0
        # 2**n grows past any cap within ~1100 doublings; stop before floats overflow.
        return min(cap, base * 2.0 ** min(failures - 1, 1000))

    def _maybe_prune(self, now: float) -> None:
        """Drop what there is nothing left to remember of, once per window: failures that
        aged out, bans that ended, accounts without familiar addresses."""
        if now < self._next_prune:
            return
        self._next_prune = now + self.config.window_seconds
        self._prune(self._ips, now)
        self._prune(self._accounts, now)

    def _prune(self, table: OrderedDict[Key, _Record], now: float) -> None:
        for key, record in list(table.items()):
            self._forget_old(record, now)
            if not record.failures and record.banned_until <= now and not record.familiar:
                del table[key]
