"""The schema comes from Alembic's migrations, and they build what `directory.schema` says."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from mailroom.directory import Directory
from mailroom.directory.schema import metadata
from tests.support.directories import HASH, everything_in


async def test_migrating_again_changes_nothing(directory: Directory) -> None:
    await directory.add_domain("example.org")
    await directory.add_account("alice@example.org", HASH)
    before = await everything_in(directory)
    await directory.migrate()
    await directory.migrate()
    assert await everything_in(directory) == before


async def test_fresh_directory_is_empty_at_version_zero(directory: Directory) -> None:
    assert await everything_in(directory) == ([], [], [], [], 0)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "include_name": lambda name, kind, parent: name != "alembic_version_directory",
        },
    )
    return list(compare_metadata(context, metadata))


async def test_migrations_build_exactly_the_schema_the_service_expects(
    directory: Directory,
) -> None:
    # Alembic's autogenerate comparison, the check it runs before writing a new revision.
    async with directory._engine.connect() as connection:  # the test may look inside
        assert await connection.run_sync(_differences) == []
