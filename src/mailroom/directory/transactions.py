"""The directory's SQL engine and the transactions every operation runs in: opening the
database, migrating its schema, and telling "the database is out of reach" apart from
"this statement was wrong".

How a change is made, so that a refusal changes nothing and two writers cannot race:
- every address and domain is normalised first (`directory.addresses`), outside SQL;
- each change is one transaction (`_writing`) whose first statement bumps the one-row
  version counter. That row lock puts all writers, on every node sharing the database,
  in one line, so the checks that follow ("is this address free?") still hold when the
  write is made. The directory changes rarely (an administrator's command), so one line
  costs nothing;
- a refusal raises inside the transaction, which rolls it back, bump included;
- many changes at once (`mailroom import legacy`) go in one `batch()`: one transaction
  and one commit for all of them, each change in a savepoint of its own, so a refused
  one is rolled back alone and the others stay, as if each had been made by itself.

The version counter is what caches in every process and node compare to know the
directory changed (`version()`). On a SQLite file it is read on a stdlib connection of
its own, in the calling thread: aiosqlite hands each statement to a thread and back
(milliseconds on a loaded host), while this read costs tens of microseconds (the page
is in memory; a WAL reader never waits for a writer). So a cache may check the version
on every use and see any process's change at once. MariaDB and PostgreSQL answer it
with one round trip.

The operations themselves live in `domains`, `accounts`, `aliases` and `transports`;
`service.Directory` is all of them on this one engine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Self

from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from mailroom.config import DirectoryConfig
from mailroom.directory.database import (
    Database,
    database_of,
    open_sqlite_file,
    sqlite_pragmas,
    without_ignored_key_names,
)
from mailroom.directory.errors import DatabaseUnavailable, DirectoryError, SchemaNotReady
from mailroom.directory.migration_lock import migration_lock
from mailroom.directory.revisions import SchemaState, schema_state
from mailroom.directory.schema import directory_version

MIGRATIONS = Path(__file__).parent / "migrations"

_MIGRATING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
"""One lock per event loop (a CLI command, a test each run their own) around migrations."""

_INHERITED: list[sqlite3.Connection] = []
"""Version-reading connections a forked process inherited (see `_peek_version`)."""

_BATCH: ContextVar[tuple[Transactions, AsyncConnection] | None] = ContextVar(
    "directory_batch", default=None
)
"""The batch (`Transactions.batch`) this task is in, if any: its directory and connection."""


class Transactions:
    """One database engine, shared by the whole process (and by other nodes using the
    same server), and the reading and writing transactions on it. Safe to use from many
    tasks."""

    def __init__(self, engine: AsyncEngine, database: Database) -> None:
        """Use `connect`."""
        self._engine = engine
        self._database = database
        url = database.url
        self._sqlite_file = (
            url.database
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
            else None
        )
        """The SQLite file whose version `_peek_version` reads; None for other databases."""
        self._peek: sqlite3.Connection | None = None
        self._peek_pid = 0
        """The process that opened `_peek`: a forked worker must open its own."""

    @property
    def location(self) -> str:
        """Where the database is, for logs and messages (never includes a password)."""
        return self._database.location

    @classmethod
    async def connect(cls, config: DirectoryConfig, base_dir: Path | None = None) -> Self:
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
                folder = Path(str(database.url.database)).parent
                reason = str(error) if folder.is_dir() else f"its directory {folder} does not exist"
                raise DatabaseUnavailable(
                    f"cannot use the directory database ({database.location}): {reason}"
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

    async def schema_state(self) -> SchemaState:
        """Whether the database holds the directory's tables at this version's revision."""
        async with self._reading() as connection:
            return await connection.run_sync(schema_state)

    async def migrate(self) -> None:
        """Create or upgrade the schema to the newest Alembic revision: the one place that
        does it, for `serve`, `init` and every command that changes the directory. When the
        schema is current it costs one query and imports no Alembic. Raises SchemaNotReady
        for a schema made by a newer Mailroom, DatabaseUnavailable, DirectoryError."""
        state = await self.schema_state()
        if state is SchemaState.CURRENT:
            return
        if state is SchemaState.NEWER:
            raise self._not_ready(state)
        try:
            await self._upgrade()
        except DirectoryError:
            # Another process (a second command, a node starting) may have created the
            # same tables at the same moment, and won: then the schema is as wanted.
            if await self.schema_state() is not SchemaState.CURRENT:
                raise

    async def require_schema(self) -> None:
        """For commands that only read: raise SchemaNotReady, saying what to run, unless
        the schema is current. Reading must not create tables (a mistyped URL would get
        them) nor upgrade a schema behind the administrator's back."""
        state = await self.schema_state()
        if state is not SchemaState.CURRENT:
            raise self._not_ready(state)

    def _not_ready(self, state: SchemaState) -> SchemaNotReady:
        where = f"the directory database ({self.location})"
        if state is SchemaState.NEWER:
            return SchemaNotReady(
                f"{where} was migrated by a newer Mailroom; run that version, or restore a copy"
            )
        if state is SchemaState.OLDER:
            return SchemaNotReady(
                f"{where} has an older schema; upgrade it with `mailroom directory upgrade`"
            )
        return SchemaNotReady(
            f"{where} has no tables yet; create them with `mailroom directory upgrade`"
        )

    async def _upgrade(self) -> None:
        # Imported here: Alembic costs a third of a second to import, and only a command
        # that finds work for it should pay.
        import alembic.command
        import alembic.config
        import alembic.util

        if self._database.url.get_backend_name() == "mysql":
            # Adding the same filter again is a no-op.
            logging.getLogger("asyncmy").addFilter(without_ignored_key_names)

        def upgrade(connection: Connection) -> None:
            with migration_lock(connection):
                # Another process may have migrated while we waited for the lock.
                if schema_state(connection) is not SchemaState.CURRENT:
                    alembic_upgrade(connection)

        def alembic_upgrade(connection: Connection) -> None:
            config = alembic.config.Config()
            # The Config is a ConfigParser: a '%' in the path would read as interpolation.
            config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
            config.attributes["connection"] = connection
            alembic.command.upgrade(config, "head")

        connected = False
        try:
            # Alembic's `context` is one per process: one migration at a time in it.
            async with _migrating(), self._engine.begin() as connection:
                connected = True
                await connection.run_sync(upgrade)
        except (DBAPIError, OSError) as error:
            if self._means_unavailable(error, connected):
                raise self._unavailable(error) from error
            raise DirectoryError(
                f"cannot migrate the directory database ({self.location}): {self._reason(error)}"
            ) from error
        except alembic.util.CommandError as error:
            raise DirectoryError(
                f"cannot migrate the directory database ({self.location}): {error}; "
                "was it migrated by a newer Mailroom?"
            ) from error

    async def close(self) -> None:
        self._drop_peek()
        await self._engine.dispose()

    async def version(self) -> int:
        """A counter bumped by every change, so caches elsewhere know when to reload. On a
        SQLite file, read without leaving the calling thread (see the module docstring)."""
        peeked = self._peek_version()
        if peeked is not None:
            return peeked
        async with self._reading() as connection:
            value = await connection.scalar(select(directory_version.c.version))
        return int(value or 0)

    def _peek_version(self) -> int | None:
        """The SQLite file's version, read here and now; None for other databases, or when
        SQLite says busy (it then does not wait: the engine's read does)."""
        if self._sqlite_file is None:
            return None
        if self._peek is not None and self._peek_pid != os.getpid():
            # Inherited through fork: SQLite forbids using it, and closing it might touch
            # what the parent's copy relies on; kept, never used, never closed.
            _INHERITED.append(self._peek)
            self._peek = None
        try:
            if self._peek is None:
                # mode=rw: never creates the file; timeout=0: never blocks the event loop.
                uri = f"{Path(self._sqlite_file).absolute().as_uri()}?mode=rw"
                self._peek = sqlite3.connect(
                    uri, uri=True, timeout=0, isolation_level=None, check_same_thread=False
                )
                self._peek_pid = os.getpid()
            row = self._peek.execute("SELECT version FROM directory_version").fetchone()
        except sqlite3.Error:
            self._drop_peek()
            return None
        return int(row[0] or 0) if row is not None else 0

    def _drop_peek(self) -> None:
        if self._peek is not None:
            self._peek.close()
            self._peek = None

    def _unavailable(self, error: BaseException) -> DatabaseUnavailable:
        return DatabaseUnavailable(
            f"cannot use the directory database ({self.location}): {self._reason(error)}"
        )

    def _reason(self, error: BaseException) -> str:
        """The driver's first line about `error`, without the password."""
        cause = error.orig if isinstance(error, DBAPIError) and error.orig else error
        text = str(cause)
        if len(cause.args) == 2 and isinstance(cause.args[0], int):
            text = str(cause.args[1])  # MySQL's (code, message)
        lines = text.strip().splitlines()
        reason = lines[0][:300] if lines else type(cause).__name__
        password = self._database.url.password
        if password:
            reason = reason.replace(str(password), "***")
        return reason

    @staticmethod
    def _means_unavailable(error: Exception, connected: bool) -> bool:
        """Whether `error` says the database is out of reach rather than that a statement
        was wrong: any failure to connect, a lost connection, a server gone away."""
        if isinstance(error, OSError | OperationalError | InterfaceError):
            return True
        return isinstance(error, DBAPIError) and (error.connection_invalidated or not connected)

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Make the changes of this task inside the block in one transaction (module
        docstring): one version bump and one commit instead of one each. A change that
        is refused raises as it would alone, and only its own statements are undone;
        reads inside see the batch's changes. Nothing is committed if the block raises."""
        async with self._writing() as connection:
            token = _BATCH.set((self, connection))
            try:
                yield
            finally:
                _BATCH.reset(token)

    def _in_batch(self) -> AsyncConnection | None:
        current = _BATCH.get()
        return current[1] if current is not None and current[0] is self else None

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        batched = self._in_batch()
        if batched is not None:
            yield batched
            return
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
        lock serialises writers) and rolls back if anything inside raises. In a batch, a
        savepoint of the batch's transaction instead."""
        batched = self._in_batch()
        if batched is not None:
            async with batched.begin_nested():
                yield batched
            return
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

    @asynccontextmanager
    async def _recording(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that does not bump the version: for rows no cache holds and no
        check races (the audit log, a last-used time), so writing them makes no process
        reload its directory caches."""
        connected = False
        try:
            async with self._engine.begin() as connection:
                connected = True
                yield connection
        except (DBAPIError, OSError) as error:
            if self._means_unavailable(error, connected):
                raise self._unavailable(error) from error
            raise


def _migrating() -> asyncio.Lock:
    """This event loop's migration lock (see `_MIGRATING`)."""
    loop = asyncio.get_running_loop()
    lock = _MIGRATING.get(loop)
    if lock is None:
        lock = _MIGRATING[loop] = asyncio.Lock()
    return lock
