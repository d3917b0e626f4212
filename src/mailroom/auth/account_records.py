"""Accounts as the directory last gave them, reused while its version counter stands still,
so a login the login cache answers reads nothing else from SQL.

Every login needs its account's record: the stored hash the password is checked against,
whether it is enabled, which account an extra address belongs to. Read afresh, that is
three statements through aiosqlite, 1.5 to 5 ms on a loaded host: most of what a cached
login costs. Every directory write bumps one counter in the same transaction
(`directory.transactions`), and on a SQLite file the `Directory` reads that counter on
its own stdlib connection without leaving the event loop, in about 10 µs. So every
lookup here reads the counter first, and while it is the one the records were read at,
they are what a fresh read would return:

- a change counts at the very next login, whoever made it: `mailroom user passwd`,
  `disable`, `remove`, an address or alias change in another process, another worker,
  a hash upgrade here. No window, no flush command (Dovecot keeps a record for its
  `auth_cache_ttl` whatever happens, until `doveadm auth cache flush`), and no message
  to deliver to each worker: the counter in the database is seen by every process.
- the counter is read before the record, so a change committed while a record is being
  read leaves a record labelled with the older version: the next lookup sees the new
  one and reads again.
- any change drops every record (the directory changes when an administrator acts, a
  few times a day), and the next logins read theirs again.

Not chosen: the version routing's snapshot keeps (`routing.snapshot`) is checked at most
once a second, and only when mail arrives; trusting it would let a disabled account or
an old password in for up to a second after the command said it was done (the
`test_login_cache_server` tests fail that way). A version bump told through the control
socket reaches only the main process, not the workers, and not a change made on
another node.

On MariaDB or PostgreSQL reading the counter is itself a round trip, so a lookup costs
one statement instead of three; the same reasoning holds (other nodes included).

Only accounts that exist are kept (at most `max_entries`, least recently used dropped):
an unknown login is read every time, so a guesser's made-up names cannot push out the
records of real accounts. `stats.accounts_read` counts the reads.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

from mailroom.auth.login_cache import AuthStats
from mailroom.directory import Account, Directory
from mailroom.directory.app_passwords import AppPassword

K = TypeVar("K")
V = TypeVar("V")


class AccountRecords:
    """`Directory.find_account` in front of a record cache; `max_entries=0` turns it off
    (every lookup reads the directory, and no version is read). Members' app passwords and
    registered certificates are kept the same way, beside the accounts."""

    def __init__(self, directory: Directory, max_entries: int, stats: AuthStats) -> None:
        self._directory = directory
        self.max_entries = max_entries
        self._stats = stats
        self._version: int | None = None
        """The directory version the records were read at."""
        self._records: OrderedDict[str, Account] = OrderedDict()
        """Address as looked up (normalised; primary or extra) -> its account."""
        self._app_passwords: OrderedDict[tuple[str, int], AppPassword] = OrderedDict()
        """(account, app password id) -> the app password."""
        self._certificates: OrderedDict[str, frozenset[str]] = OrderedDict()
        """Account -> the fingerprints of its registered certificates."""

    def __len__(self) -> int:
        return len(self._records)

    async def find(self, address: str) -> Account | None:
        """The account `address` (normalised, primary or extra) delivers to, as the
        directory has it now; None if there is none. Raises DirectoryError."""
        if self.max_entries <= 0:
            return await self._read(address)
        version = await self._current()
        record = self._records.get(address)
        if record is not None:
            self._records.move_to_end(address)
            return record
        account = await self._read(address)
        if account is not None:
            self._keep(self._records, address, account, version)
        return account

    async def app_password(self, account: str, password_id: int) -> AppPassword | None:
        """The app password `password_id` of `account` (a primary address) as the
        directory has it now; None if it has none by that id (revoked, or never made)."""
        if self.max_entries <= 0:
            return await self._directory.find_app_password(account, password_id)
        version = await self._current()
        key = (account, password_id)
        record = self._app_passwords.get(key)
        if record is not None:
            self._app_passwords.move_to_end(key)
            return record
        found = await self._directory.find_app_password(account, password_id)
        if found is not None:
            self._keep(self._app_passwords, key, found, version)
        return found

    async def certificates(self, account: str) -> frozenset[str]:
        """The SHA-256 fingerprints of the certificates `account` registered, now."""
        if self.max_entries <= 0:
            return await self._read_certificates(account)
        version = await self._current()
        fingerprints = self._certificates.get(account)
        if fingerprints is not None:
            self._certificates.move_to_end(account)
            return fingerprints
        fingerprints = await self._read_certificates(account)
        self._keep(self._certificates, account, fingerprints, version)
        return fingerprints

    async def _current(self) -> int:
        """The directory's version now; every record read at another one is dropped."""
        version = await self._directory.version()
        if version != self._version:
            self._records.clear()
            self._app_passwords.clear()
            self._certificates.clear()
            self._version = version
        return version

    def _keep(self, records: OrderedDict[K, V], key: K, value: V, version: int) -> None:
        # Kept only if no later version was seen meanwhile: this read may be older than it.
        if self._version != version:
            return
        records[key] = value
        while len(records) > self.max_entries:
            records.popitem(last=False)

    async def _read(self, address: str) -> Account | None:
        self._stats.accounts_read += 1
        return await self._directory.find_account(address)

    async def _read_certificates(self, account: str) -> frozenset[str]:
        registered = await self._directory.account_certificates(account)
        return frozenset(each.fingerprint for each in registered)
