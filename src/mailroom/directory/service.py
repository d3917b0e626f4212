"""The directory service: domains, accounts, extra addresses, aliases, send-as grants and
transports in SQL (SQLite, MariaDB/MySQL, PostgreSQL) through SQLAlchemy 2's asyncio API.

Everything above this room (auth, routing, smtp, web, cli) asks it questions and hands it
changes; it answers with the frozen records of `directory.records` and refuses with the
errors of `directory.errors`. It imports no protocol and reads no configuration file: it
is given a `DirectoryConfig`.

How a change is made, so that a refusal changes nothing and two writers cannot race:
- every address and domain is normalised first (`directory.addresses`), outside SQL;
- each change is one transaction whose first statement bumps the one-row version counter.
  That row lock puts all writers, on every node sharing the database, in one line, so the
  checks that follow ("is this address free?") still hold when the write is made. The
  directory changes rarely (an administrator's command), so one line costs nothing;
- a refusal raises inside the transaction, which rolls it back, bump included.

Queries are Core statements with explicit selects: no ORM, so no lazy load can happen
in async code. Lists are sorted here, in Python, because the backends' collations sort
differently and callers should see one order everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from mailroom.config import DirectoryConfig
from mailroom.directory.addresses import normalize_address, normalize_domain, split_address
from mailroom.directory.database import (
    Database,
    database_of,
    open_sqlite_file,
    sqlite_pragmas,
    without_ignored_key_names,
)
from mailroom.directory.errors import (
    AliasLoop,
    AlreadyExists,
    DatabaseUnavailable,
    DirectoryError,
    InUse,
    InvalidAddress,
    InvalidValue,
    NotFound,
    UnknownDomain,
)
from mailroom.directory.nexthop import normalize_nexthop
from mailroom.directory.records import Account, Alias, Domain, Transport
from mailroom.directory.schema import (
    DISPLAY_NAME_LENGTH,
    PASSWORD_HASH_LENGTH,
    accounts,
    alias_targets,
    aliases,
    directory_version,
    domains,
    extra_addresses,
    send_as_grants,
    transports,
)

MIGRATIONS = Path(__file__).parent / "migrations"
MAX_QUOTA_BYTES = 2**63 - 1  # BIGINT
IN_CHUNK = 500
"""Addresses per `IN (...)`: the backends cap the number of parameters per statement."""


class _NothingChanged(Exception):
    """Raised inside a write to roll it back, version bump included, without an error."""


# -- values other than addresses -------------------------------------------------------------


def _check_password_hash(password_hash: str) -> None:
    if not isinstance(password_hash, str) or not password_hash:
        raise InvalidValue("the password hash is empty; store '!' to allow no password")
    if len(password_hash) > PASSWORD_HASH_LENGTH:
        raise InvalidValue(f"the password hash is longer than {PASSWORD_HASH_LENGTH} characters")
    if not (password_hash.isascii() and password_hash.isprintable()) or " " in password_hash:
        raise InvalidValue("a password hash is printable ASCII without spaces")


def _check_display_name(display_name: str) -> None:
    if not isinstance(display_name, str):
        raise InvalidValue("the display name must be text")
    if len(display_name) > DISPLAY_NAME_LENGTH:
        raise InvalidValue(f"the display name is longer than {DISPLAY_NAME_LENGTH} characters")
    # It ends up in headers and listings: no line breaks or other control characters.
    if not display_name.isprintable():
        raise InvalidValue("the display name contains line breaks or control characters")


def _check_quota(quota_bytes: int | None) -> None:
    if quota_bytes is None:
        return
    if isinstance(quota_bytes, bool) or not isinstance(quota_bytes, int):
        raise InvalidValue("the quota must be a whole number of bytes, or none for unlimited")
    if not 0 <= quota_bytes <= MAX_QUOTA_BYTES:
        raise InvalidValue(
            f"the quota must be between 0 and {MAX_QUOTA_BYTES} bytes, not {quota_bytes}"
        )


def _check_flag(value: bool, name: str) -> None:
    if not isinstance(value, bool):
        raise InvalidValue(f"{name} must be true or false")


def _counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _listed(words: Iterable[str]) -> str:
    return ", ".join(words)


def _chunks(items: Collection[str]) -> Iterable[list[str]]:
    ordered = sorted(items)
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start : start + IN_CHUNK]


# -- the service ----------------------------------------------------------------------------


class Directory:
    """One database of domains, accounts, aliases and transports, shared by the whole
    process (and by other nodes using the same server). Safe to use from many tasks."""

    def __init__(self, engine: AsyncEngine, database: Database) -> None:
        """Use `Directory.connect`."""
        self._engine = engine
        self._database = database

    @property
    def location(self) -> str:
        """Where the database is, for logs and messages (never includes a password)."""
        return self._database.location

    @classmethod
    async def connect(cls, config: DirectoryConfig, base_dir: Path | None = None) -> Directory:
        """Open the database named by `config.url` (relative SQLite paths against `base_dir`).
        Does not create tables: call `migrate()`. Raises DatabaseUnavailable."""
        database = database_of(config, base_dir)
        if database.url.get_backend_name() == "sqlite" and database.url.database != ":memory:":
            # Try the file with sqlite3 first. After a failed open, aiosqlite's worker thread
            # still finishes its own shutdown unawaited, and in a short-lived event loop (a
            # CLI command, a test) that ends in "Event loop is closed" noise from the thread.
            try:
                await asyncio.to_thread(open_sqlite_file, str(database.url.database))
            except sqlite3.Error as error:
                raise DatabaseUnavailable(
                    f"cannot use the directory database ({database.location}): {error}"
                ) from error
        engine = create_async_engine(database.url, **database.engine_options)
        if database.url.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        directory = cls(engine, database)
        try:
            async with engine.connect():
                pass  # fail now, with a clear message, rather than at the first question
        except (DBAPIError, OSError) as error:
            # Any refusal at this point (no such database, role, password) means unavailable.
            await engine.dispose()
            raise directory._unavailable(error) from error
        return directory

    async def migrate(self) -> None:
        """Create or upgrade the schema to the newest Alembic revision (idempotent)."""
        # Imported here: Alembic costs a third of a second to import, and only `init`
        # and `serve` migrate; every other command starts without it.
        import alembic.command
        import alembic.config
        import alembic.util

        if self._database.url.get_backend_name() == "mysql":
            # Adding the same filter again is a no-op.
            logging.getLogger("asyncmy").addFilter(without_ignored_key_names)

        def upgrade(connection: Connection) -> None:
            config = alembic.config.Config()
            # The Config is a ConfigParser: a '%' in the path would read as interpolation.
            config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
            config.attributes["connection"] = connection
            alembic.command.upgrade(config, "head")

        connected = False
        try:
            async with self._engine.begin() as connection:
                connected = True
                await connection.run_sync(upgrade)
        except (DBAPIError, OSError) as error:
            if self._means_unavailable(error, connected):
                raise self._unavailable(error) from error
            raise
        except alembic.util.CommandError as error:
            raise DirectoryError(
                f"cannot migrate the directory database ({self.location}): {error}; "
                "was it migrated by a newer Mailroom?"
            ) from error

    async def close(self) -> None:
        await self._engine.dispose()

    async def version(self) -> int:
        """A counter bumped by every change, so caches elsewhere know when to reload."""
        async with self._reading() as connection:
            value = await connection.scalar(select(directory_version.c.version))
        return int(value or 0)

    # -- transactions ------------------------------------------------------------------------

    def _unavailable(self, error: BaseException) -> DatabaseUnavailable:
        cause = error.orig if isinstance(error, DBAPIError) and error.orig else error
        text = str(cause)
        if len(cause.args) == 2 and isinstance(cause.args[0], int):
            text = str(cause.args[1])  # MySQL's (code, message)
        lines = text.strip().splitlines()
        reason = lines[0][:300] if lines else type(cause).__name__
        password = self._database.url.password
        if password:
            reason = reason.replace(str(password), "***")
        return DatabaseUnavailable(f"cannot use the directory database ({self.location}): {reason}")

    @staticmethod
    def _means_unavailable(error: Exception, connected: bool) -> bool:
        """Whether `error` says the database is out of reach rather than that a statement
        was wrong: any failure to connect, a lost connection, a server gone away."""
        if isinstance(error, OSError | OperationalError | InterfaceError):
            return True
        return isinstance(error, DBAPIError) and (error.connection_invalidated or not connected)

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        connected = False
        try:
            async with self._engine.connect() as connection:
                connected = True
                yield connection
        except (DBAPIError, OSError) as error:
            if self._means_unavailable(error, connected):
                raise self._unavailable(error) from error
            raise

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """One transaction that bumps the version first (see the module docstring: its row
        lock serialises writers) and rolls back if anything inside raises."""
        connected = False
        try:
            async with self._engine.begin() as connection:
                connected = True
                await connection.execute(
                    update(directory_version).values(version=directory_version.c.version + 1)
                )
                yield connection
        except (DBAPIError, OSError) as error:
            if self._means_unavailable(error, connected):
                raise self._unavailable(error) from error
            raise

    # -- lookups shared by the operations ------------------------------------------------------

    @staticmethod
    async def _domain_id(connection: AsyncConnection, name: str) -> int | None:
        value = await connection.scalar(select(domains.c.id).where(domains.c.name == name))
        return None if value is None else int(value)

    async def _local_domain_id(self, connection: AsyncConnection, address: str) -> int:
        domain = split_address(address)[1]
        domain_id = await self._domain_id(connection, domain)
        if domain_id is None:
            raise UnknownDomain(domain)
        return domain_id

    @staticmethod
    async def _holder(connection: AsyncConnection, address: str) -> str | None:
        """What already has `address`, in words, or None if it is free."""
        if await connection.scalar(select(accounts.c.id).where(accounts.c.address == address)):
            return "an account"
        owner = await connection.scalar(
            select(accounts.c.address)
            .join(extra_addresses, extra_addresses.c.account_id == accounts.c.id)
            .where(extra_addresses.c.address == address)
        )
        if owner is not None:
            return f"an extra address of {owner}"
        if await connection.scalar(select(aliases.c.id).where(aliases.c.address == address)):
            return "an alias"
        return None

    async def _refuse_taken(self, connection: AsyncConnection, address: str) -> None:
        holder = await self._holder(connection, address)
        if holder is not None:
            raise AlreadyExists(f"{address} is already {holder}")

    @staticmethod
    async def _account_id(connection: AsyncConnection, address: str) -> int | None:
        value = await connection.scalar(select(accounts.c.id).where(accounts.c.address == address))
        return None if value is None else int(value)

    async def _require_account(self, connection: AsyncConnection, address: str) -> int:
        account_id = await self._account_id(connection, address)
        if account_id is not None:
            return account_id
        holder = await self._holder(connection, address)
        if holder is not None:
            raise NotFound(f"{address} is {holder}, not an account's primary address")
        raise NotFound(f"no account {address}")

    @staticmethod
    async def _alias_id(connection: AsyncConnection, address: str) -> int | None:
        value = await connection.scalar(select(aliases.c.id).where(aliases.c.address == address))
        return None if value is None else int(value)

    async def _require_alias(self, connection: AsyncConnection, address: str) -> int:
        alias_id = await self._alias_id(connection, address)
        if alias_id is None:
            raise NotFound(f"no alias {address}")
        return alias_id

    @staticmethod
    async def _aliases_targeting(
        connection: AsyncConnection, addresses: Collection[str]
    ) -> list[str]:
        """The aliases that forward to any of `addresses`, sorted."""
        found: set[str] = set()
        for chunk in _chunks(addresses):
            rows = await connection.execute(
                select(aliases.c.address)
                .join(alias_targets, alias_targets.c.alias_id == aliases.c.id)
                .where(alias_targets.c.target.in_(chunk))
            )
            found.update(row.address for row in rows)
        return sorted(found)

    @staticmethod
    async def _existing_addresses(
        connection: AsyncConnection, addresses: Collection[str]
    ) -> set[str]:
        """Those of `addresses` that are an account, an extra address or an alias."""
        found: set[str] = set()
        for chunk in _chunks(addresses):
            for column in (accounts.c.address, extra_addresses.c.address, aliases.c.address):
                rows = await connection.execute(select(column).where(column.in_(chunk)))
                found.update(row[0] for row in rows)
        return found

    @staticmethod
    async def _local_domains_among(connection: AsyncConnection, names: Collection[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(names):
            rows = await connection.execute(select(domains.c.name).where(domains.c.name.in_(chunk)))
            found.update(row.name for row in rows)
        return found

    @staticmethod
    async def _load_account(connection: AsyncConnection, account_id: int) -> Account:
        row = (await connection.execute(select(accounts).where(accounts.c.id == account_id))).one()
        extras = await connection.execute(
            select(extra_addresses.c.address).where(extra_addresses.c.account_id == account_id)
        )
        return _account_record(row, sorted(extra.address for extra in extras))

    @staticmethod
    async def _load_alias(connection: AsyncConnection, alias_id: int) -> Alias:
        address = await connection.scalar(select(aliases.c.address).where(aliases.c.id == alias_id))
        targets = await connection.execute(
            select(alias_targets.c.target).where(alias_targets.c.alias_id == alias_id)
        )
        grants = await connection.execute(
            select(accounts.c.address)
            .join(send_as_grants, send_as_grants.c.account_id == accounts.c.id)
            .where(send_as_grants.c.alias_id == alias_id)
        )
        return Alias(
            address=str(address),
            targets=tuple(sorted(row.target for row in targets)),
            send_as=tuple(sorted(row.address for row in grants)),
        )

    # -- domains -----------------------------------------------------------------------------

    async def add_domain(self, name: str) -> Domain:
        domain = normalize_domain(name)
        created = datetime.now(UTC)
        async with self._writing() as connection:
            if await self._domain_id(connection, domain) is not None:
                raise AlreadyExists(f"{domain} is already a local domain")
            await connection.execute(insert(domains).values(name=domain, created=created))
        return Domain(name=domain, created=created)

    async def list_domains(self) -> list[Domain]:
        async with self._reading() as connection:
            rows = await connection.execute(select(domains.c.name, domains.c.created))
            return sorted(
                (Domain(name=row.name, created=row.created) for row in rows),
                key=lambda domain: domain.name,
            )

    async def remove_domain(self, name: str) -> None:
        """Refuses (InUse) while accounts, extra addresses or aliases in the domain exist."""
        domain = normalize_domain(name)
        async with self._writing() as connection:
            domain_id = await self._domain_id(connection, domain)
            if domain_id is None:
                raise NotFound(f"{domain} is not a local domain")
            counts = [
                await connection.scalar(
                    select(func.count()).select_from(table).where(table.c.domain_id == domain_id)
                )
                or 0
                for table in (accounts, extra_addresses, aliases)
            ]
            if any(counts):
                held = [
                    _counted(count, singular, plural)
                    for count, singular, plural in zip(
                        counts,
                        ("account", "extra address", "alias"),
                        ("accounts", "extra addresses", "aliases"),
                        strict=True,
                    )
                    if count
                ]
                raise InUse(f"{domain} still has {_listed(held)}; remove them first")
            await connection.execute(delete(domains).where(domains.c.id == domain_id))

    async def is_local_domain(self, name: str) -> bool:
        """False for a name that is not even a valid domain."""
        try:
            domain = normalize_domain(name)
        except InvalidAddress:
            return False
        async with self._reading() as connection:
            return await self._domain_id(connection, domain) is not None

    # -- accounts ----------------------------------------------------------------------------

    async def add_account(
        self,
        address: str,
        password_hash: str,
        *,
        display_name: str = "",
        quota_bytes: int | None = None,
        enabled: bool = True,
    ) -> Account:
        account = normalize_address(address)
        _check_password_hash(password_hash)
        _check_display_name(display_name)
        _check_quota(quota_bytes)
        _check_flag(enabled, "enabled")
        created = datetime.now(UTC)
        async with self._writing() as connection:
            domain_id = await self._local_domain_id(connection, account)
            await self._refuse_taken(connection, account)
            await connection.execute(
                insert(accounts).values(
                    address=account,
                    domain_id=domain_id,
                    display_name=display_name,
                    password_hash=password_hash,
                    quota_bytes=quota_bytes,
                    enabled=enabled,
                    created=created,
                )
            )
        return Account(
            address=account,
            display_name=display_name,
            password_hash=password_hash,
            quota_bytes=quota_bytes,
            enabled=enabled,
            extra_addresses=(),
            created=created,
        )

    async def get_account(self, address: str) -> Account:
        """The account whose primary address (login name) this is; NotFound otherwise."""
        account = normalize_address(address)
        async with self._reading() as connection:
            return await self._load_account(
                connection, await self._require_account(connection, account)
            )

    async def find_account(self, address: str) -> Account | None:
        """The account that `address` (primary or extra) delivers to; None if there is none,
        or if `address` is not even a valid address."""
        try:
            wanted = normalize_address(address)
        except InvalidAddress:
            return None
        async with self._reading() as connection:
            account_id = await self._account_id(connection, wanted)
            if account_id is None:
                account_id = await connection.scalar(
                    select(extra_addresses.c.account_id).where(extra_addresses.c.address == wanted)
                )
            if account_id is None:
                return None
            return await self._load_account(connection, int(account_id))

    async def list_accounts(self, domain: str | None = None) -> list[Account]:
        """All accounts, or those whose primary address is in `domain` (UnknownDomain if it
        is not local: a typo should not look like an empty domain)."""
        account_query = select(accounts)
        extras_query = select(extra_addresses.c.account_id, extra_addresses.c.address)
        async with self._reading() as connection:
            if domain is not None:
                name = normalize_domain(domain)
                domain_id = await self._domain_id(connection, name)
                if domain_id is None:
                    raise UnknownDomain(name)
                account_query = account_query.where(accounts.c.domain_id == domain_id)
                extras_query = extras_query.join(
                    accounts, accounts.c.id == extra_addresses.c.account_id
                ).where(accounts.c.domain_id == domain_id)
            extras: dict[int, list[str]] = {}
            for extra in await connection.execute(extras_query):
                extras.setdefault(extra.account_id, []).append(extra.address)
            rows = await connection.execute(account_query)
            return sorted(
                (_account_record(row, sorted(extras.get(row.id, []))) for row in rows),
                key=lambda account: account.address,
            )

    async def set_password_hash(
        self, address: str, password_hash: str, *, expected_old: str | None = None
    ) -> bool:
        """Store a new hash. With `expected_old`, only if the stored hash is still that one
        (compare-and-set): a hash upgraded at login must not undo a `passwd` that happened
        meanwhile. Returns whether the hash was stored."""
        account = normalize_address(address)
        _check_password_hash(password_hash)
        try:
            async with self._writing() as connection:
                account_id = await self._require_account(connection, account)
                if expected_old is not None:
                    # Compared here, not in SQL: MySQL's PAD SPACE collations would call
                    # "hash" and "hash " equal. The version lock keeps it current.
                    stored = await connection.scalar(
                        select(accounts.c.password_hash).where(accounts.c.id == account_id)
                    )
                    if stored != expected_old:
                        raise _NothingChanged
                await connection.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id)
                    .values(password_hash=password_hash)
                )
        except _NothingChanged:
            return False
        return True

    async def set_enabled(self, address: str, enabled: bool) -> Account:
        account = normalize_address(address)
        _check_flag(enabled, "enabled")
        async with self._writing() as connection:
            account_id = await self._require_account(connection, account)
            await connection.execute(
                update(accounts).where(accounts.c.id == account_id).values(enabled=enabled)
            )
            return await self._load_account(connection, account_id)

    async def update_account(
        self,
        address: str,
        *,
        display_name: str | None = None,
        quota_bytes: int | None = None,
        clear_quota: bool = False,
    ) -> Account:
        """Change what is given: a display name, a quota, or `clear_quota` for unlimited."""
        account = normalize_address(address)
        values: dict[str, object] = {}
        if display_name is not None:
            _check_display_name(display_name)
            values["display_name"] = display_name
        if clear_quota and quota_bytes is not None:
            raise InvalidValue("give a quota or clear it, not both")
        if quota_bytes is not None:
            _check_quota(quota_bytes)
            values["quota_bytes"] = quota_bytes
        if clear_quota:
            values["quota_bytes"] = None
        if not values:
            return await self.get_account(account)
        async with self._writing() as connection:
            account_id = await self._require_account(connection, account)
            await connection.execute(
                update(accounts).where(accounts.c.id == account_id).values(**values)
            )
            return await self._load_account(connection, account_id)

    async def remove_account(self, address: str) -> None:
        """Remove the account with its extra addresses and send-as grants. Refuses (InUse)
        while aliases forward to it. Its mail on disk is not this room's business."""
        account = normalize_address(address)
        async with self._writing() as connection:
            account_id = await self._require_account(connection, account)
            extras = await connection.execute(
                select(extra_addresses.c.address).where(extra_addresses.c.account_id == account_id)
            )
            addresses = [account, *(row.address for row in extras)]
            targeting = await self._aliases_targeting(connection, addresses)
            if targeting:
                raise InUse(
                    f"aliases forward to {account} or its extra addresses: {_listed(targeting)}; "
                    "change or remove those aliases first"
                )
            await connection.execute(
                delete(send_as_grants).where(send_as_grants.c.account_id == account_id)
            )
            await connection.execute(
                delete(extra_addresses).where(extra_addresses.c.account_id == account_id)
            )
            await connection.execute(delete(accounts).where(accounts.c.id == account_id))

    # -- extra addresses -----------------------------------------------------------------------

    async def add_address(self, account: str, address: str) -> Account:
        """Deliver `address` (in a local domain, not yet taken) to `account` too."""
        owner = normalize_address(account)
        extra = normalize_address(address)
        async with self._writing() as connection:
            account_id = await self._require_account(connection, owner)
            domain_id = await self._local_domain_id(connection, extra)
            await self._refuse_taken(connection, extra)
            await connection.execute(
                insert(extra_addresses).values(
                    address=extra, account_id=account_id, domain_id=domain_id
                )
            )
            return await self._load_account(connection, account_id)

    async def remove_address(self, address: str) -> Account:
        """Remove an extra address; returns its account. Refuses (InUse) while aliases
        forward to it."""
        extra = normalize_address(address)
        async with self._writing() as connection:
            account_id = await connection.scalar(
                select(extra_addresses.c.account_id).where(extra_addresses.c.address == extra)
            )
            if account_id is None:
                holder = await self._holder(connection, extra)
                raise NotFound(
                    f"{extra} is {holder}, not an extra address"
                    if holder
                    else f"no extra address {extra}"
                )
            targeting = await self._aliases_targeting(connection, [extra])
            if targeting:
                raise InUse(
                    f"aliases forward to {extra}: {_listed(targeting)}; "
                    "change or remove those aliases first"
                )
            await connection.execute(
                delete(extra_addresses).where(extra_addresses.c.address == extra)
            )
            return await self._load_account(connection, int(account_id))

    # -- aliases -----------------------------------------------------------------------------

    async def add_alias(
        self, address: str, targets: Sequence[str], *, send_as: Sequence[str] = ()
    ) -> Alias:
        """An alias forwarding to `targets`: local addresses that exist (account, extra
        address or alias) or addresses in other domains. `send_as` are accounts that may
        use the alias as their sender. Refuses an alias that would forward to itself."""
        alias = normalize_address(address)
        if isinstance(targets, str):
            raise InvalidValue("targets must be a list of addresses, not one string")
        wanted = sorted({normalize_address(target) for target in targets})
        if not wanted:
            raise InvalidValue(f"the alias {alias} needs at least one target")
        senders = sorted({normalize_address(account) for account in send_as})
        async with self._writing() as connection:
            domain_id = await self._local_domain_id(connection, alias)
            await self._refuse_taken(connection, alias)
            if alias in wanted:
                raise AliasLoop(f"the alias {alias} cannot forward to itself")
            local = await self._local_domains_among(
                connection, {split_address(target)[1] for target in wanted}
            )
            local_targets = [target for target in wanted if split_address(target)[1] in local]
            missing = sorted(
                set(local_targets) - await self._existing_addresses(connection, local_targets)
            )
            if missing:
                raise NotFound(
                    f"{_listed(missing)}: no such local address; create it first"
                    if len(missing) == 1
                    else f"{_listed(missing)}: no such local addresses; create them first"
                )
            await self._refuse_loop(connection, alias, local_targets)
            sender_ids = []
            for sender in senders:
                sender_id = await self._account_id(connection, sender)
                if sender_id is None:
                    raise NotFound(f"{sender} is not an account; only accounts may send as {alias}")
                sender_ids.append(sender_id)
            inserted = await connection.execute(
                insert(aliases).values(address=alias, domain_id=domain_id)
            )
            assert inserted.inserted_primary_key is not None  # a single-row insert has one
            alias_id = int(inserted.inserted_primary_key[0])
            await connection.execute(
                insert(alias_targets), [{"alias_id": alias_id, "target": t} for t in wanted]
            )
            if sender_ids:
                await connection.execute(
                    insert(send_as_grants),
                    [{"alias_id": alias_id, "account_id": sender_id} for sender_id in sender_ids],
                )
        return Alias(address=alias, targets=tuple(wanted), send_as=tuple(senders))

    @staticmethod
    async def _refuse_loop(
        connection: AsyncConnection, alias: str, local_targets: Sequence[str]
    ) -> None:
        """AliasLoop if following aliases from `local_targets` comes back to `alias`.

        Existing aliases cannot loop among themselves (each addition was checked), but one
        may already forward to `alias`: its target was external when it was made, and the
        domain became local later."""
        came_from = dict.fromkeys(local_targets, alias)
        frontier = set(local_targets)
        while frontier:
            following: set[str] = set()
            for chunk in _chunks(frontier):
                rows = await connection.execute(
                    select(aliases.c.address, alias_targets.c.target)
                    .join(alias_targets, alias_targets.c.alias_id == aliases.c.id)
                    .where(aliases.c.address.in_(chunk))
                )
                for row in rows:
                    if row.target == alias:
                        path = [row.address]
                        while path[-1] != alias:
                            path.append(came_from[path[-1]])
                        chain = " -> ".join([*reversed(path), alias])
                        raise AliasLoop(f"the alias {alias} would loop: {chain}")
                    if row.target not in came_from:
                        came_from[row.target] = row.address
                        following.add(row.target)
            frontier = following

    async def get_alias(self, address: str) -> Alias:
        alias = normalize_address(address)
        async with self._reading() as connection:
            return await self._load_alias(connection, await self._require_alias(connection, alias))

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        """All aliases, or those in `domain` (UnknownDomain if it is not local)."""
        alias_query = select(aliases.c.id, aliases.c.address)
        targets_query = select(alias_targets.c.alias_id, alias_targets.c.target)
        grants_query = select(send_as_grants.c.alias_id, accounts.c.address).join(
            accounts, accounts.c.id == send_as_grants.c.account_id
        )
        async with self._reading() as connection:
            if domain is not None:
                name = normalize_domain(domain)
                domain_id = await self._domain_id(connection, name)
                if domain_id is None:
                    raise UnknownDomain(name)
                alias_query = alias_query.where(aliases.c.domain_id == domain_id)
                targets_query = targets_query.join(
                    aliases, aliases.c.id == alias_targets.c.alias_id
                ).where(aliases.c.domain_id == domain_id)
                grants_query = grants_query.join(
                    aliases, aliases.c.id == send_as_grants.c.alias_id
                ).where(aliases.c.domain_id == domain_id)
            targets: dict[int, list[str]] = {}
            for row in await connection.execute(targets_query):
                targets.setdefault(row.alias_id, []).append(row.target)
            grants: dict[int, list[str]] = {}
            for row in await connection.execute(grants_query):
                grants.setdefault(row.alias_id, []).append(row.address)
            rows = await connection.execute(alias_query)
            return sorted(
                (
                    Alias(
                        address=row.address,
                        targets=tuple(sorted(targets.get(row.id, []))),
                        send_as=tuple(sorted(grants.get(row.id, []))),
                    )
                    for row in rows
                ),
                key=lambda alias: alias.address,
            )

    async def remove_alias(self, address: str) -> None:
        """Remove the alias and its send-as grants. Refuses (InUse) while other aliases
        forward to it."""
        alias = normalize_address(address)
        async with self._writing() as connection:
            alias_id = await self._require_alias(connection, alias)
            targeting = await self._aliases_targeting(connection, [alias])
            if targeting:
                raise InUse(
                    f"aliases forward to {alias}: {_listed(targeting)}; "
                    "change or remove those aliases first"
                )
            await connection.execute(
                delete(alias_targets).where(alias_targets.c.alias_id == alias_id)
            )
            await connection.execute(
                delete(send_as_grants).where(send_as_grants.c.alias_id == alias_id)
            )
            await connection.execute(delete(aliases).where(aliases.c.id == alias_id))

    async def grant_send_as(self, alias: str, account: str) -> Alias:
        """Let `account` use `alias` as its sender address. AlreadyExists if it may already."""
        alias_address = normalize_address(alias)
        account_address = normalize_address(account)
        async with self._writing() as connection:
            alias_id = await self._require_alias(connection, alias_address)
            account_id = await self._require_account(connection, account_address)
            granted = await connection.scalar(
                select(func.count())
                .select_from(send_as_grants)
                .where(send_as_grants.c.alias_id == alias_id)
                .where(send_as_grants.c.account_id == account_id)
            )
            if granted:
                raise AlreadyExists(f"{account_address} may already send as {alias_address}")
            await connection.execute(
                insert(send_as_grants).values(alias_id=alias_id, account_id=account_id)
            )
            return await self._load_alias(connection, alias_id)

    async def revoke_send_as(self, alias: str, account: str) -> Alias:
        alias_address = normalize_address(alias)
        account_address = normalize_address(account)
        async with self._writing() as connection:
            alias_id = await self._require_alias(connection, alias_address)
            account_id = await self._require_account(connection, account_address)
            result = await connection.execute(
                delete(send_as_grants)
                .where(send_as_grants.c.alias_id == alias_id)
                .where(send_as_grants.c.account_id == account_id)
            )
            if result.rowcount == 0:
                raise NotFound(f"{account_address} has no grant to send as {alias_address}")
            return await self._load_alias(connection, alias_id)

    async def may_send_as(self, account: str, address: str) -> bool:
        """Whether `account` (a primary address) may use `address` as its sender: its own
        primary or extra address, or an alias it holds a send-as grant for. False for
        anything that is not even a valid address."""
        try:
            login = normalize_address(account)
            sender = normalize_address(address)
        except InvalidAddress:
            return False
        async with self._reading() as connection:
            account_id = await self._account_id(connection, login)
            if account_id is None:
                return False
            if sender == login:
                return True
            owned = await connection.scalar(
                select(func.count())
                .select_from(extra_addresses)
                .where(extra_addresses.c.address == sender)
                .where(extra_addresses.c.account_id == account_id)
            )
            if owned:
                return True
            granted = await connection.scalar(
                select(func.count())
                .select_from(send_as_grants)
                .join(aliases, aliases.c.id == send_as_grants.c.alias_id)
                .where(aliases.c.address == sender)
                .where(send_as_grants.c.account_id == account_id)
            )
            return bool(granted)

    # -- transports ----------------------------------------------------------------------------

    async def set_transport(self, domain: str, nexthop: str) -> Transport:
        """Send mail for `domain` (local or not) to `nexthop` instead of its MX; replaces
        any transport the domain had."""
        name = normalize_domain(domain)
        hop = normalize_nexthop(nexthop)
        async with self._writing() as connection:
            existing = await connection.scalar(
                select(transports.c.id).where(transports.c.domain == name)
            )
            if existing is None:
                await connection.execute(insert(transports).values(domain=name, nexthop=hop))
            else:
                await connection.execute(
                    update(transports).where(transports.c.id == existing).values(nexthop=hop)
                )
        return Transport(domain=name, nexthop=hop)

    async def list_transports(self) -> list[Transport]:
        async with self._reading() as connection:
            rows = await connection.execute(select(transports.c.domain, transports.c.nexthop))
            return sorted(
                (Transport(domain=row.domain, nexthop=row.nexthop) for row in rows),
                key=lambda transport: transport.domain,
            )

    async def remove_transport(self, domain: str) -> None:
        name = normalize_domain(domain)
        async with self._writing() as connection:
            result = await connection.execute(delete(transports).where(transports.c.domain == name))
            if result.rowcount == 0:
                raise NotFound(f"no transport for {name}")


def _account_record(row: Any, extra_addresses: Sequence[str]) -> Account:
    return Account(
        address=row.address,
        display_name=row.display_name,
        password_hash=row.password_hash,
        quota_bytes=None if row.quota_bytes is None else int(row.quota_bytes),
        enabled=bool(row.enabled),
        extra_addresses=tuple(extra_addresses),
        created=row.created,
    )
