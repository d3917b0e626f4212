"""One migration at a time on a database: two commands, or two nodes starting, on a fresh
MariaDB/PostgreSQL database would otherwise both create the tables and one would fail
half-way. The lock is the server's own named lock, taken on the connection that then
migrates, so it holds across processes and machines:
- PostgreSQL: a transaction-level advisory lock, released when the migration commits;
- MariaDB/MySQL: `GET_LOCK`, a session lock (DDL commits implicitly there, so a
  transaction lock would not last), released explicitly;
- SQLite: nothing (one host's file; the process-wide lock in `transactions` serves).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

from mailroom.directory.errors import DirectoryError

LOCK_NAME = "mailroom.directory.schema"
LOCK_WAIT_SECONDS = 120
"""How long to wait for another process's migration (a first one takes seconds)."""


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the database's migration lock while the block runs."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # SET takes no bound parameters; the value is our own constant.
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": LOCK_NAME}
        )
        yield
        return
    if dialect in ("mysql", "mariadb"):
        got = connection.scalar(
            text("SELECT GET_LOCK(:name, :wait)"), {"name": LOCK_NAME, "wait": LOCK_WAIT_SECONDS}
        )
        if got != 1:
            raise DirectoryError(
                f"another process has been migrating the directory for {LOCK_WAIT_SECONDS} s;"
                " try again when it has finished"
            )
        try:
            yield
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
        return
    yield
