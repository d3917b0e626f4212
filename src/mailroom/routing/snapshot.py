"""An in-memory copy of what routing asks the directory, reloaded when it changes.

Routing asks several questions per recipient (is the domain local, is this an account,
an alias, does the domain have a transport); asking SQL each time costs a round trip per
question (and aiosqlite is slow, see DESIGN.md). The directory is small and changes
rarely, so routing keeps all of it that it needs in memory, and asks only for the
directory's version counter, at most once per `refresh_interval`: when it has moved, the
whole copy is read again.

The copy is read with four queries, not one transaction; a change made while it is being
read may leave it inconsistent, but the version is read first, so the next check sees
that change and reads everything again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mailroom.directory import Account, DatabaseUnavailable, Directory

log = logging.getLogger(__name__)

DEFAULT_REFRESH_INTERVAL = 1.0
"""Seconds between two checks of the directory's version."""


class DirectoryUnavailable(Exception):
    """The directory cannot be read and no earlier copy exists: answer a temporary error."""


@dataclass(frozen=True)
class DirectorySnapshot:
    """What routing needs from the directory, at one version. All names normalised."""

    version: int
    domains: frozenset[str] = frozenset()
    accounts: Mapping[str, Account] = field(default_factory=lambda: MappingProxyType({}))
    """Every address delivered to an account (primary and extra) -> that account."""
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    """Alias address -> its targets."""
    transports: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Domain -> next hop."""
    send_as: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    """Account (primary address) -> the aliases it holds a send-as grant for."""

    @classmethod
    async def load(cls, directory: Directory) -> DirectorySnapshot:
        """Read everything routing needs. Raises DatabaseUnavailable."""
        version = await directory.version()
        domains = frozenset(domain.name for domain in await directory.list_domains())
        accounts: dict[str, Account] = {}
        for account in await directory.list_accounts():
            accounts[account.address] = account
            for extra in account.extra_addresses:
                accounts[extra] = account
        send_as: dict[str, set[str]] = {}
        aliases: dict[str, tuple[str, ...]] = {}
        for alias in await directory.list_aliases():
            aliases[alias.address] = alias.targets
            for holder in alias.send_as:
                send_as.setdefault(holder, set()).add(alias.address)
        transports = {t.domain: t.nexthop for t in await directory.list_transports()}
        return cls(
            version=version,
            domains=domains,
            accounts=MappingProxyType(accounts),
            aliases=MappingProxyType(aliases),
            transports=MappingProxyType(transports),
            send_as=MappingProxyType({k: frozenset(v) for k, v in send_as.items()}),
        )

    def is_local_domain(self, domain: str) -> bool:
        return domain in self.domains

    def account_of(self, address: str) -> Account | None:
        """The account `address` (primary or extra) delivers to."""
        return self.accounts.get(address)

    def may_send_as(self, account: str, address: str) -> bool:
        """Whether the account (primary address) may use `address` as its sender: one of
        its own addresses, or an alias it holds a send-as grant for."""
        owner = self.accounts.get(address)
        if owner is not None:
            return owner.address == account
        return address in self.send_as.get(account, frozenset())

    def alias_targets(self, address: str) -> tuple[str, ...] | None:
        return self.aliases.get(address)

    def nexthop(self, domain: str) -> str | None:
        """The transport's next hop for exactly `domain` (no parent-domain match)."""
        return self.transports.get(domain)


class SnapshotCache:
    """Hands out the current DirectorySnapshot, reloading it when the directory's version
    has changed. Safe to share between tasks: one reload at a time, the others wait."""

    def __init__(
        self,
        directory: Directory,
        *,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._snapshot: DirectorySnapshot | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> DirectorySnapshot:
        """The snapshot, checked against the directory's version if `refresh_interval` has
        passed since the last check. If the directory cannot be read, the last snapshot
        is used (and the failure logged); DirectoryUnavailable if there is none yet."""
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - self._checked_at < self._refresh_interval:
            return snapshot
        async with self._lock:
            if self._snapshot is not None and (
                self._clock() - self._checked_at < self._refresh_interval
            ):
                return self._snapshot  # another task refreshed it while we waited
            return await self._refresh()

    async def _refresh(self) -> DirectorySnapshot:
        checked_at = self._clock()
        try:
            if self._snapshot is not None and await self._directory.version() == (
                self._snapshot.version
            ):
                self._checked_at = checked_at
                return self._snapshot
            snapshot = await DirectorySnapshot.load(self._directory)
        except DatabaseUnavailable as error:
            if self._snapshot is None:
                raise DirectoryUnavailable(str(error)) from error
            log.warning(
                "routing uses the directory as of version %d: %s", self._snapshot.version, error
            )
            self._checked_at = checked_at
            return self._snapshot
        if self._snapshot is not None:
            log.info(
                "directory changed (version %d -> %d); routing reloaded it",
                self._snapshot.version,
                snapshot.version,
            )
        self._snapshot = snapshot
        self._checked_at = checked_at
        return snapshot

    def invalidate(self) -> None:
        """Check the version at the next `get` (after this process changed the directory)."""
        self._checked_at = float("-inf")
