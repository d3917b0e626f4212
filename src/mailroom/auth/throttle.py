"""Brute-force throttling of logins: a budget of attempts, growing delays, then temporary
bans (fail2ban, built in).

The legacy host's open to-do "throttle brute force attack attempts using fail2ban or
similar" is closed here, once, for every protocol. Two things are counted inside
`[auth.throttle] window_seconds`:

- attempts per client address. Each failure is answered after a delay that doubles
  (`delay_base_seconds`, capped at `delay_max_seconds`); `max_failures_per_ip` of them ban
  the address for `ban_seconds`, right password or not. An IPv6 client is counted per /64,
  the block one host or household gets (RFC 6177), so hopping addresses inside it gains
  nothing; an IPv4-mapped IPv6 address counts as the IPv4 address it is.
- attempts per account, from any address. `max_failures_per_account` failures lock the
  account for `ban_seconds` — except for the addresses that logged in to it successfully
  before, so a botnet guessing from thousands of addresses cannot lock the owner out.

The budget is reserved before any password is verified: `reserve()` counts the attempt
as a failure until `settle()` says how it ended, and refuses once failures plus attempts
in flight reach the limit. So 60 logins arriving at once from one address (over every
listener and worker process) have at most `max_failures_per_ip` passwords checked, not
60. An attempt whose verification was never finished (the client hung up) is settled as
a failure: it cost a hash.

`exempt_networks` (a webmail host logging in on behalf of everyone) are never counted.
Memory is bounded: at most `MAX_TRACKED` addresses and accounts each, the least recently
seen forgotten first, and entries with nothing left to remember are pruned.

`Throttle` is the interface the `Authenticator` uses. `MemoryThrottle` is the one-process
implementation (its bans kept in a file by `auth.ban_store`, so a restart clears none); it
never awaits, so each call is atomic on the event loop. `auth.redis_throttle` keeps the
same counts in Redis for every process and node sharing it; `auth.remote_throttle` is a
worker process's way to the main process's. Hand-written because fail2ban works on log
files after the fact, outside the process.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Protocol, TypeVar, runtime_checkable

from mailroom.auth.ban_store import BanFile, BanSnapshot, LockedAccount
from mailroom.config import ThrottleConfig
from mailroom.metrics import BANS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_TRACKED = 100_000
"""Addresses (and, separately, accounts) remembered at once; the least recently seen go."""
FAMILIAR_PER_ACCOUNT = 16
"""Addresses remembered per account as having logged in successfully."""
IPV6_CLIENT_PREFIX = 64
"""An IPv6 client is its /64 (RFC 6177): one host can use every address in it."""

Key = TypeVar("Key", IPNetwork, str)


IN_FLIGHT_RETRY_SECONDS = 5.0
"""Retry-after of an attempt refused because the budget is held by attempts in flight."""


@dataclass(frozen=True)
class ThrottleVerdict:
    allowed: bool
    retry_after: float
    """Seconds until a refused client may try again (0 when allowed)."""
    reason: str
    """For the log: allowed, exempt, disabled, ip_banned, account_locked, ip_in_flight,
    account_in_flight or throttle_unavailable."""
    token: str = ""
    """What `reserve` counted, to `settle` later ("" when nothing was counted)."""


class Settlement(Enum):
    """How a reserved attempt ended."""

    FAILURE = "failure"
    """The password was checked and wrong (or the check was abandoned): it stays counted."""
    SUCCESS = "success"
    """The password was right: the attempt is uncounted and the address is familiar."""
    VOID = "void"
    """Nothing was checked (the directory failed): the attempt is uncounted."""


class Throttle(Protocol):
    async def check(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        """Is this address or this account banned now? (Counts nothing.)"""
        ...

    async def reserve(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        """May this address try to log in to this account now? If so the attempt is
        counted as a failure (its `token`) until it is settled."""
        ...

    async def settle(self, ip: IPAddress, account: str, token: str, outcome: Settlement) -> float:
        """Say how a reserved attempt ended; return the seconds to wait before answering
        a failure (0 otherwise)."""
        ...

    async def close(self) -> None:
        """Write what must outlive the process; release connections."""
        ...


MAX_BANS_LISTED = 1000
"""Bans `BanAdministration.bans` returns at most (a page, not an export)."""


class BanKind(StrEnum):
    ADDRESS = "address"
    """A client network (an IPv4 address as /32, an IPv6 /64)."""
    ACCOUNT = "account"
    """An account locked for every address but its familiar ones."""


@dataclass(frozen=True)
class Ban:
    kind: BanKind
    subject: str
    """The network as `client_key` writes it (`203.0.113.9/32`), or the account."""
    remaining: float
    """Seconds until it ends by itself."""


class BansUnavailable(Exception):
    """The bans cannot be read or changed now (the throttle's Redis does not answer)."""


@runtime_checkable
class BanAdministration(Protocol):
    """What an administrator does with bans (the web's /admin/bans): see them, lift one.
    Implemented by the throttles that keep bans (`MemoryThrottle`, `RedisThrottle`); a
    worker's `RemoteThrottle` has none of its own."""

    async def bans(self, limit: int = MAX_BANS_LISTED) -> list[Ban]:
        """The bans in force, longest remaining first, at most `limit`; raises
        BansUnavailable."""
        ...

    async def lift(self, kind: BanKind, subject: str) -> bool:
        """End a ban now (its failures forgotten, so the next failure does not ban
        again at once); False if there was none. Raises BansUnavailable."""
        ...


class NoThrottle:
    """Counts nothing and refuses nothing (`mailroom auth test`, and tests)."""

    async def check(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        return ThrottleVerdict(allowed=True, retry_after=0.0, reason="disabled")

    async def reserve(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        return ThrottleVerdict(allowed=True, retry_after=0.0, reason="disabled")

    async def settle(self, ip: IPAddress, account: str, token: str, outcome: Settlement) -> float:
        return 0.0

    async def close(self) -> None:
        return None


def uncounted(config: ThrottleConfig, ip: IPAddress) -> ThrottleVerdict | None:
    """The verdict for a client nothing is counted for (throttle off, exempt network)."""
    if not config.enabled:
        return ThrottleVerdict(allowed=True, retry_after=0.0, reason="disabled")
    ip = canonical_client(ip)
    if any(ip in network for network in config.exempt_networks):
        return ThrottleVerdict(allowed=True, retry_after=0.0, reason="exempt")
    return None


def failure_delay(config: ThrottleConfig, failures: int) -> float:
    """The wait before answering the `failures`-th failure from one address."""
    base, cap = config.delay_base_seconds, config.delay_max_seconds
    if base <= 0 or failures <= 0:
        return 0.0
    # 2**n grows past any cap within ~1100 doublings; stop before floats overflow.
    return min(cap, base * 2.0 ** min(failures - 1, 1000))


def new_token() -> str:
    return secrets.token_hex(8)


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
    pending: dict[str, float] = field(default_factory=dict)
    """Reserved attempts not settled yet: token -> time reserved."""
    banned_until: float = 0.0
    familiar: OrderedDict[IPNetwork, None] = field(default_factory=OrderedDict)
    """Accounts only: addresses that logged in successfully, most recent last."""

    def attempts(self) -> int:
        return len(self.failures) + len(self.pending)


class MemoryThrottle:
    """The Throttle of one process, in memory; its bans also in `ban_file` when given.
    `clock` (monotonic) and `wall` (the time written to the file) are injectable."""

    def __init__(
        self,
        config: ThrottleConfig,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = MAX_TRACKED,
        *,
        ban_file: BanFile | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock = clock
        self._wall = wall
        self._max_tracked = max_tracked
        self._ips: OrderedDict[IPNetwork, _Record] = OrderedDict()
        self._accounts: OrderedDict[str, _Record] = OrderedDict()
        self._next_prune = clock() + config.window_seconds
        self._ban_file = ban_file
        if ban_file is not None:
            self._restore(ban_file.load())

    @property
    def tracked(self) -> tuple[int, int]:
        """(addresses, accounts) currently remembered, for metrics and tests."""
        return len(self._ips), len(self._accounts)

    async def check(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        skip = uncounted(self.config, ip)
        if skip is not None:
            return skip
        return self._banned(client_key(ip), account, self._clock()) or ThrottleVerdict(
            allowed=True, retry_after=0.0, reason="allowed"
        )

    async def reserve(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        skip = uncounted(self.config, ip)
        if skip is not None:
            return skip
        key, now = client_key(ip), self._clock()
        banned = self._banned(key, account, now)
        if banned is not None:
            return banned
        self._maybe_prune(now)
        by_ip = self._touch(self._ips, key)
        by_account = self._touch(self._accounts, account)
        self._forget_old(by_ip, now)
        self._forget_old(by_account, now)
        if by_ip.attempts() >= self.config.max_failures_per_ip:
            return ThrottleVerdict(False, IN_FLIGHT_RETRY_SECONDS, "ip_in_flight")
        if (
            by_account.attempts() >= self.config.max_failures_per_account
            and key not in by_account.familiar
        ):
            return ThrottleVerdict(False, IN_FLIGHT_RETRY_SECONDS, "account_in_flight")
        token = new_token()
        by_ip.pending[token] = by_account.pending[token] = now
        return ThrottleVerdict(allowed=True, retry_after=0.0, reason="allowed", token=token)

    async def settle(self, ip: IPAddress, account: str, token: str, outcome: Settlement) -> float:
        if uncounted(self.config, ip) is not None:
            return 0.0
        key, now = client_key(ip), self._clock()
        self._maybe_prune(now)
        for record in (self._ips.get(key), self._accounts.get(account)):
            if record is not None:
                record.pending.pop(token, None)
        if outcome is Settlement.FAILURE:
            by_ip = self._touch(self._ips, key)
            by_account = self._touch(self._accounts, account)
            from_ip = self._count(by_ip, now, self.config.max_failures_per_ip)
            self._count(by_account, now, self.config.max_failures_per_account)
            return failure_delay(self.config, from_ip)
        if outcome is Settlement.SUCCESS:
            # A success clears no failures: an attacker owning one account must not be
            # able to reset its count by logging in to it between guesses at others.
            by_account = self._touch(self._accounts, account)
            by_account.familiar[key] = None
            by_account.familiar.move_to_end(key)
            while len(by_account.familiar) > FAMILIAR_PER_ACCOUNT:
                by_account.familiar.popitem(last=False)
        return 0.0

    async def record_failure(self, ip: IPAddress, account: str) -> float:
        """Count a failure that was never reserved; the delay to answer it after."""
        return await self.settle(ip, account, "", Settlement.FAILURE)

    async def record_success(self, ip: IPAddress, account: str) -> None:
        """Note a success that was never reserved: the address becomes familiar."""
        await self.settle(ip, account, "", Settlement.SUCCESS)

    async def bans(self, limit: int = MAX_BANS_LISTED) -> list[Ban]:
        now = self._clock()
        found = [
            Ban(BanKind.ADDRESS, str(key), record.banned_until - now)
            for key, record in self._ips.items()
            if record.banned_until > now
        ] + [
            Ban(BanKind.ACCOUNT, account, record.banned_until - now)
            for account, record in self._accounts.items()
            if record.banned_until > now
        ]
        found.sort(key=lambda ban: (-ban.remaining, ban.kind, ban.subject))
        return found[:limit]

    async def lift(self, kind: BanKind, subject: str) -> bool:
        record: _Record | None
        if kind is BanKind.ADDRESS:
            try:
                record = self._ips.get(ipaddress.ip_network(subject))
            except ValueError:
                return False
        else:
            record = self._accounts.get(subject)
        if record is None or record.banned_until <= self._clock():
            return False
        record.banned_until = 0.0
        record.failures.clear()
        self._bans_changed()
        return True

    async def close(self) -> None:
        if self._ban_file is not None:
            await self._ban_file.flush()

    def _banned(self, key: IPNetwork, account: str, now: float) -> ThrottleVerdict | None:
        by_ip = self._ips.get(key)
        if by_ip is not None and by_ip.banned_until > now:
            return ThrottleVerdict(False, self._remaining(by_ip, now), "ip_banned")
        by_account = self._accounts.get(account)
        if (
            by_account is not None
            and by_account.banned_until > now
            and key not in by_account.familiar
        ):
            return ThrottleVerdict(False, self._remaining(by_account, now), "account_locked")
        return None

    def _remaining(self, record: _Record, now: float) -> float:
        """Seconds left of a ban, never more than `ban_seconds`: (now + ban) - now is not
        always `ban` in floating point (300.0000000000002 was seen)."""
        return min(record.banned_until - now, float(self.config.ban_seconds))

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

    def _count(self, record: _Record, now: float, limit: int) -> int:
        """Count a failure in `record`; ban it on reaching `limit`. Returns the failures
        inside the window, this one included."""
        self._forget_old(record, now)
        record.failures.append(now)
        count = len(record.failures)
        if count >= limit:
            record.banned_until = now + self.config.ban_seconds
            # The ban is the punishment for these failures; after it, counting starts over.
            record.failures.clear()
            self._bans_changed()
            BANS.inc()
        return count

    def _forget_old(self, record: _Record, now: float) -> None:
        horizon = now - self.config.window_seconds
        while record.failures and record.failures[0] <= horizon:
            record.failures.popleft()
        # A reservation never settled (it cannot happen but by a bug) ages out as well.
        for token in [t for t, at in record.pending.items() if at <= horizon]:
            del record.pending[token]

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
            if (
                not record.failures
                and not record.pending
                and record.banned_until <= now
                and not record.familiar
            ):
                del table[key]

    # -- the ban file ----------------------------------------------------------------------

    def _bans_changed(self) -> None:
        if self._ban_file is not None:
            self._ban_file.save_soon(self._snapshot)

    def _snapshot(self) -> BanSnapshot:
        """The bans in force, with the wall-clock time each ends at."""
        now, wall = self._clock(), self._wall()
        return BanSnapshot(
            ips={
                str(key): wall + record.banned_until - now
                for key, record in self._ips.items()
                if record.banned_until > now
            },
            accounts={
                account: LockedAccount(
                    wall + record.banned_until - now, [str(n) for n in record.familiar]
                )
                for account, record in self._accounts.items()
                if record.banned_until > now
            },
        )

    def _restore(self, snapshot: BanSnapshot) -> None:
        """Take over the bans of an earlier run still in force; none lasts longer than
        `ban_seconds` from now, whatever the file says."""
        now, wall = self._clock(), self._wall()
        for text, until in snapshot.ips.items():
            remaining = min(until - wall, self.config.ban_seconds)
            if remaining > 0:
                network = ipaddress.ip_network(text)
                self._touch(self._ips, network).banned_until = now + remaining
        for account, locked in snapshot.accounts.items():
            remaining = min(locked.until - wall, self.config.ban_seconds)
            if remaining > 0:
                record = self._touch(self._accounts, account)
                record.banned_until = now + remaining
                for text in locked.familiar[:FAMILIAR_PER_ACCOUNT]:
                    record.familiar[ipaddress.ip_network(text)] = None
