"""Verified logins remembered for a while, so a client's next connections with the same
password cost no argon2 run (Dovecot's auth cache, `auth_cache_ttl`).

A client opens several connections at once (Thunderbird up to five), polls every few
minutes, and webmail logs in on every request; each login would otherwise pay a full
argon2id verification (64 MiB, tens of milliseconds of a core). What is remembered:

- never the password: an HMAC-SHA256, under a key made at random when the process
  starts and never written anywhere, of who logged in, the stored hash the password was
  verified against, and the password. Entries are compared with `hmac.compare_digest`.
- the stored hash is part of what is hashed, so a password changed anywhere (`mailroom
  user passwd` in another process, another node on the same database, a hash upgrade)
  voids the entry at the next login: the `Authenticator` asks with the hash the
  directory holds now (`auth.account_records`: the record of the last login, while the
  directory's version counter says nothing changed). The same record is what refuses a
  disabled or removed account, cached password or not.
- successes only. Dovecot can cache failures too (`auth_cache_negative_ttl`), but that
  makes an attacker's retries with a wrong password cheap; the throttle slows and bans
  those instead, and each still costs a full verification.

`ttl_seconds` bounds how long an entry lives, `max_entries` how many live at once (the
least recently used go first). Short by default (`[auth] cache_ttl_seconds`): an entry
is a fast hash of the password, so whoever can read the process's memory (and so its
key) could test guesses against it far faster than against argon2id; few and fresh
entries keep that exposure small. A hit answers quickly, which tells a guesser nothing:
only the right password hits.

`LoginCache` never awaits, so each call is atomic on the event loop. `CachedVerifier` puts
it in front of the `Authenticator`'s verification, and also makes the same login arriving
on several connections at once (a client opening its connections, webmail's parallel
requests) wait for one verification instead of running one each.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mailroom.directory.passwords import Verification, identify_scheme

Verify = Callable[[str, str], Awaitable[Verification]]
"""(password, stored hash) -> the verification, run off the event loop."""


@dataclass(frozen=True)
class CacheKey:
    """One login attempt as the cache sees it: who, and the keyed hash of the rest."""

    who: str
    """An account's primary address, `master:NAME` for a master user or `app:ID` for an
    app password (no '@' in either, so neither can be an address)."""
    digest: bytes = field(repr=False)


class LoginCache:
    """Successful password verifications of one process; `clock` is injectable for tests."""

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        """who -> (digest, expiry); one per account: its latest verified password."""

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0 and self.max_entries > 0

    def __len__(self) -> int:
        """Entries held (some perhaps expired, until looked at), for metrics."""
        return len(self._entries)

    def key_of(self, who: str, stored_hash: str, password: str) -> CacheKey:
        """The key of logging in as `who` with `password`, while `stored_hash` is stored."""
        keyed = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in (who, stored_hash, password):
            data = part.encode("utf-8", "surrogatepass")
            # Length-prefixed, so no two different triples hash the same bytes.
            keyed.update(len(data).to_bytes(8, "big") + data)
        return CacheKey(who, keyed.digest())

    def holds(self, key: CacheKey) -> bool:
        """Whether this exact login was verified within the TTL."""
        entry = self._entries.get(key.who)
        if entry is None:
            return False
        digest, expiry = entry
        if expiry <= self._clock():
            del self._entries[key.who]
            return False
        if not hmac.compare_digest(digest, key.digest):
            # Left in place: a guesser's wrong password must not evict the owner's entry.
            return False
        self._entries.move_to_end(key.who)
        return True

    def forget(self, who: str) -> None:
        """Drop `who`'s entry (its password changed, its app password was revoked)."""
        self._entries.pop(who, None)

    def remember(self, key: CacheKey) -> None:
        """Note a successful verification; it replaces the account's earlier one."""
        if not self.enabled:
            return
        self._entries[key.who] = (key.digest, self._clock() + self.ttl_seconds)
        self._entries.move_to_end(key.who)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


@dataclass
class AuthStats:
    """Counters for metrics and tests, since the process started."""

    hashes_verified: int = 0
    """Password verifications run (in the pool), including the stand-in ones for
    unknown accounts."""
    cache_hits: int = 0
    """Passwords accepted from the login cache, without a verification."""
    accounts_read: int = 0
    """Account records read from the directory (`AccountRecords`): the logins and
    mailbox openings its records did not answer."""


class CachedVerifier:
    """`verify` behind the cache: a hit answers at once; a miss verifies (once for the same
    login arriving concurrently) and remembers a success. With `upgrades`, a hash that
    needs upgrading is not remembered: the upgraded one will be, at the next login."""

    def __init__(self, cache: LoginCache, verify: Verify, stats: AuthStats, *, upgrades: bool):
        self._cache = cache
        self._verify = verify
        self._stats = stats
        self._upgrades = upgrades
        self._running: dict[CacheKey, asyncio.Future[Verification]] = {}

    async def verified(self, who: str, password: str, stored: str) -> tuple[Verification, bool]:
        """Whether `password` matches `stored`, `who`'s current hash; and whether the cache
        answered."""
        key = self._cache.key_of(who, stored, password)
        if self._cache.holds(key):
            self._stats.cache_hits += 1
            return Verification(ok=True, needs_upgrade=False, scheme=identify_scheme(stored)), True
        if not self._cache.enabled:
            return await self._verify(password, stored), False
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(self._verify_and_remember(key, password, stored))
            self._running[key] = running
            running.add_done_callback(lambda done: self._finished(key, done))
        # Shielded: one client hanging up must not cancel the others' verification.
        return await asyncio.shield(running), False

    async def _verify_and_remember(self, key: CacheKey, password: str, stored: str) -> Verification:
        # Remembered before the task ends, so that a login arriving just then finds
        # either the task or the entry.
        verification = await self._verify(password, stored)
        if verification.ok and not (verification.needs_upgrade and self._upgrades):
            self._cache.remember(key)
        return verification

    def _finished(self, key: CacheKey, done: asyncio.Future[Verification]) -> None:
        del self._running[key]
        if not done.cancelled():
            done.exception()  # retrieved, as every waiter may have gone
