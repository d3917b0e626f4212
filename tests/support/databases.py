"""Real SQL servers for tests, each test on a database of its own.

MariaDB (127.0.0.1:3306, root, no password) and PostgreSQL (127.0.0.1:5432, trust)
run on every machine of this project. A test that needs one and cannot reach it
fails with a message saying which server and how to start it; it never skips.
Override the servers with MAILROOM_TEST_MYSQL_URL / MAILROOM_TEST_POSTGRES_URL
(a URL without a database name, e.g. mysql://root@127.0.0.1:3306).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncmy
import asyncpg
import pytest

MYSQL_SERVER = os.environ.get("MAILROOM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
POSTGRES_SERVER = os.environ.get(
    "MAILROOM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"
)

BACKENDS = ["sqlite", "mariadb", "postgresql"]


async def _mysql(statement: str) -> None:
    parts = urlsplit(MYSQL_SERVER)
    connection = await asyncmy.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
    )
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(statement)
    finally:
        connection.close()


async def _postgres(statement: str) -> None:
    parts = urlsplit(POSTGRES_SERVER)
    connection = await asyncpg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        database="postgres",
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _run(backend: str, statement: str) -> None:
    runner = _mysql if backend == "mariadb" else _postgres
    server = MYSQL_SERVER if backend == "mariadb" else POSTGRES_SERVER
    try:
        asyncio.run(runner(statement))
    except (OSError, asyncmy.errors.OperationalError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"{backend} at {server} is unreachable or refused us ({error}); "
            f"start it (see .ci/run) or set MAILROOM_TEST_*_URL",
            pytrace=False,
        )


def make_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Create an empty database on `backend`; yield its URL; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'directory.sqlite3'}"
        return
    name = f"mailroom_test_{uuid.uuid4().hex[:12]}"
    _run(backend, f"CREATE DATABASE {name}")
    try:
        server = MYSQL_SERVER if backend == "mariadb" else POSTGRES_SERVER
        yield f"{server}/{name}"
    finally:
        if backend == "postgresql":
            _run(backend, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            _run(backend, f"DROP DATABASE IF EXISTS {name}")
