"""Which revision of the directory's schema a database holds, read with one query and
without Alembic: so that every command can tell a current schema from an empty, older or
newer one, and import Alembic (a third of a second) only when there is work for it.

`REVISIONS` lists the migrations of `migrations/versions` oldest first; a test checks it
against Alembic's own reading of them, so a new migration cannot be forgotten here.
"""

from __future__ import annotations

import enum

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection

REVISIONS = ("0001", "0002")
HEAD = REVISIONS[-1]

VERSION_TABLE = "alembic_version_directory"
"""Alembic's version table for the directory, kept apart from any other Alembic history
that may share the database."""


class SchemaState(enum.Enum):
    EMPTY = "empty"
    """No directory tables yet: a fresh database."""
    OLDER = "older"
    """Made by an older Mailroom: an upgrade brings it to `HEAD`."""
    CURRENT = "current"
    NEWER = "newer"
    """Made by a newer Mailroom: this one must not touch it."""


def schema_state(connection: Connection) -> SchemaState:
    """The state of the directory's schema on `connection` (run through `run_sync`)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return SchemaState.EMPTY
    versions = table(VERSION_TABLE, column("version_num"))
    found = [str(value) for value in connection.execute(select(versions.c.version_num)).scalars()]
    if not found:
        # Alembic made its table but never stamped it: a first migration that failed.
        return SchemaState.EMPTY
    if found == [HEAD]:
        return SchemaState.CURRENT
    if all(revision in REVISIONS for revision in found):
        return SchemaState.OLDER
    return SchemaState.NEWER
