"""Which database a directory URL names, and how to open it: the user-facing URL of the
config (`sqlite:///file`, `mysql://`, `postgresql://`) as the asyncio driver's URL and
engine options, and the per-connection settings each backend needs."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from mailroom.config import DirectoryConfig
from mailroom.directory.errors import InvalidValue

CONNECT_TIMEOUT_SECONDS = 10
"""How long to wait for MariaDB/MySQL or PostgreSQL to accept a connection."""
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another process's write to finish."""
MYSQL_RECYCLE_SECONDS = 3600
"""Reconnect pooled MySQL connections before the server's `wait_timeout` drops them."""


@dataclass(frozen=True)
class Database:
    url: URL
    location: str
    """Where the database is, for messages: never the password."""
    engine_options: dict[str, Any] = field(default_factory=dict)


def database_of(config: DirectoryConfig, base_dir: Path | None) -> Database:
    """The user-facing URL of the config, as the asyncio driver's URL and engine options."""
    try:
        url = make_url(config.url)
    except (ArgumentError, ValueError):
        # The parser's message would quote the whole URL, password and all.
        raise InvalidValue(
            "the directory URL is not a valid URL; expected e.g. sqlite:///directory.sqlite3"
        ) from None
    backend = url.get_backend_name().lower()  # URL schemes ignore case (RFC 3986 §3.1)
    if backend == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            # One shared connection: each new in-memory connection would be a new database.
            return Database(
                URL.create("sqlite+aiosqlite", database=":memory:"),
                "in-memory SQLite",
                {"poolclass": StaticPool},
            )
        path = Path(database)
        if not path.is_absolute():
            path = (base_dir if base_dir is not None else Path.cwd()) / path
        return Database(URL.create("sqlite+aiosqlite", database=str(path)), f"SQLite file {path}")
    server_options: dict[str, Any] = {
        "pool_size": config.pool_size,
        "pool_pre_ping": True,
        # The same rule on both servers: each statement sees what was committed before it.
        "isolation_level": "READ COMMITTED",
    }
    if backend in ("mysql", "mariadb"):
        return Database(
            url.set(drivername="mysql+asyncmy").update_query_dict({"charset": "utf8mb4"}),
            f"MariaDB/MySQL at {_shown(url)}",
            server_options
            | {
                "pool_recycle": MYSQL_RECYCLE_SECONDS,
                "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            },
        )
    if backend in ("postgresql", "postgres"):
        return Database(
            url.set(drivername="postgresql+asyncpg"),
            f"PostgreSQL at {_shown(url)}",
            server_options | {"connect_args": {"timeout": CONNECT_TIMEOUT_SECONDS}},
        )
    raise InvalidValue(
        f"the directory URL's scheme {backend!r} is not one of sqlite, mysql, mariadb, postgresql"
    )


def _shown(url: URL) -> str:
    """The URL as the config wrote it, for messages: the password replaced by ***."""
    return url.render_as_string(hide_password=True)


def open_sqlite_file(path: str) -> None:
    """Open (creating if need be) and close the SQLite file; raise sqlite3.Error if we can't."""
    sqlite3.connect(path).close()


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per connection: readers do not block the writer (WAL), foreign keys are enforced
    (SQLite ignores them unless asked), and a writer waits for another instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def without_ignored_key_names(record: logging.LogRecord) -> bool:
    """MariaDB warns about every named primary key (it calls them all PRIMARY; our naming
    convention and Alembic's version table name them for PostgreSQL), and the asyncmy driver
    logs each warning: noise at every migration. Only that warning is dropped."""
    return not record.getMessage().endswith("ignored for PRIMARY key.")
