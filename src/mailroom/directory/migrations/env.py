"""Alembic's environment for the directory: runs the revisions on the connection that
`Directory.migrate()` lends it.

There is no alembic.ini and no engine of Alembic's own: the service builds the Alembic
config in code and passes its open connection in `config.attributes["connection"]`
(Alembic's cookbook, "Programmatic API use (connection sharing) With Asyncio"). Logging
is left as the application set it up: this file never calls `fileConfig`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from mailroom.directory.revisions import VERSION_TABLE
from mailroom.directory.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("the directory's migrations run only online, through Directory.migrate()")

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run the directory's migrations through Directory.migrate()")
run_migrations(_connection)
