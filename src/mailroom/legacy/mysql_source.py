"""Reading the legacy `cacertusers` MySQL database: the `user` table (one row per member:
`username, fullnamealias, realname, password`) and the `aliases` table (addresses members
may send from, as Postfix's sender login maps read it: `email` and `destination`).

The table and column names are the legacy host's; `LegacyTables` lets a host that differs
name its own. Only SELECTs are run: the legacy database is never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, column, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from mailroom.legacy.errors import LegacySourceError
from mailroom.legacy.records import LegacySendAs, LegacyUser

MAX_ROWS = 1_000_000
"""Rows read from one table at most: a bigger table is not a mail host's user list."""
CONNECT_TIMEOUT_SECONDS = 10

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,63}")


@dataclass(frozen=True)
class LegacyTables:
    """Where the legacy schema keeps members and send-as aliases."""

    user_table: str = "user"
    username_column: str = "username"
    fullnamealias_column: str = "fullnamealias"
    realname_column: str = "realname"
    password_column: str = "password"  # noqa: S105 - a column name
    aliases_table: str = "aliases"
    alias_address_column: str = "email"
    alias_member_column: str = "destination"

    def check(self) -> None:
        """LegacySourceError naming the first option that is not a plain SQL name."""
        for name, value in vars(self).items():
            if not _IDENTIFIER.fullmatch(value):
                option = name.replace("_", "-")
                raise LegacySourceError(f"--{option}: {value!r} is not a table or column name")


def _driver_url(url: str) -> tuple[str, str]:
    """The asyncmy URL of a `mysql://` URL, and where it is for messages (no password)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise LegacySourceError(
            "--mysql is not a valid URL; expected mysql://user:password@host/cacertusers"
        ) from None
    if parsed.get_backend_name().lower() not in ("mysql", "mariadb"):
        raise LegacySourceError("--mysql must be a mysql:// or mariadb:// URL")
    if not parsed.database:
        raise LegacySourceError("--mysql names no database; add /cacertusers to the URL")
    where = (
        f"MySQL at {parsed.host or 'localhost'}:{parsed.port or 3306} database {parsed.database!r}"
    )
    driver = parsed.set(drivername="mysql+asyncmy").update_query_dict({"charset": "utf8mb4"})
    return driver.render_as_string(hide_password=False), where


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value).strip()


async def read_legacy_database(
    url: str, tables: LegacyTables = LegacyTables()
) -> tuple[tuple[LegacyUser, ...], tuple[LegacySendAs, ...]]:
    """The members and the send-as aliases of the legacy database, sorted by name."""
    tables.check()
    driver_url, where = _driver_url(url)
    engine = create_async_engine(
        driver_url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    users_query: Select[Any, Any, Any, Any] = (
        select(
            column(tables.username_column),
            column(tables.fullnamealias_column),
            column(tables.realname_column),
            column(tables.password_column),
        )
        .select_from(table(tables.user_table))
        .limit(MAX_ROWS + 1)
    )
    aliases_query: Select[Any, Any] = (
        select(column(tables.alias_address_column), column(tables.alias_member_column))
        .select_from(table(tables.aliases_table))
        .limit(MAX_ROWS + 1)
    )
    try:
        async with engine.connect() as connection:
            user_rows = (await connection.execute(users_query)).all()
            alias_rows = (await connection.execute(aliases_query)).all()
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise LegacySourceError(f"{where}: {reason}") from None
    except OSError as error:
        raise LegacySourceError(f"{where}: {error.strerror or error}") from None
    finally:
        await engine.dispose()
    if len(user_rows) > MAX_ROWS or len(alias_rows) > MAX_ROWS:
        raise LegacySourceError(f"{where}: more than {MAX_ROWS} rows in one table")
    users = tuple(
        sorted(
            (
                LegacyUser(_text(row[0]), _text(row[1]), _text(row[2]), _text(row[3]))
                for row in user_rows
            ),
            key=lambda user: user.username,
        )
    )
    members: dict[str, list[str]] = {}
    for address, destination in alias_rows:
        found = members.setdefault(_text(address), [])
        for member in _text(destination).split(","):
            if member.strip() and member.strip() not in found:
                found.append(member.strip())
    send_as = tuple(
        LegacySendAs(address, tuple(names)) for address, names in sorted(members.items())
    )
    return users, send_as
