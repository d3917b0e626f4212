"""Telling a fresh, current, older and newer schema apart without Alembic: the revision list
kept in `directory.revisions` is Alembic's, a reading caller is refused in one line saying
what to run, and migrating creates what is missing but never touches a newer schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text

from mailroom.config import DirectoryConfig
from mailroom.directory import Directory, SchemaNotReady, SchemaState
from mailroom.directory.revisions import HEAD, REVISIONS, VERSION_TABLE
from mailroom.directory.transactions import MIGRATIONS


def test_the_revision_list_is_alembics() -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    oldest_first = [revision.revision for revision in reversed(list(script.walk_revisions()))]
    assert tuple(oldest_first) == REVISIONS
    assert script.get_current_head() == HEAD


async def test_a_fresh_database_is_refused_to_readers_and_created_by_migrate(
    database_url: str, tmp_path: Path
) -> None:
    directory = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    try:
        assert await directory.schema_state() is SchemaState.EMPTY
        with pytest.raises(SchemaNotReady) as caught:
            await directory.require_schema()
        assert str(caught.value) == (
            f"the directory database ({directory.location}) has no tables yet; "
            "create them with `mailroom directory upgrade`"
        )
        assert await directory.schema_state() is SchemaState.EMPTY  # reading created nothing
        await directory.migrate()
        assert await directory.schema_state() is SchemaState.CURRENT
        await directory.require_schema()
        await directory.add_domain("example.org")
    finally:
        await directory.close()


async def test_a_schema_of_a_newer_mailroom_is_left_alone(
    database_url: str, tmp_path: Path
) -> None:
    directory = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    try:
        await directory.migrate()
        async with directory._writing() as connection:
            await connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
        assert await directory.schema_state() is SchemaState.NEWER
        for attempt in (directory.migrate, directory.require_schema):
            with pytest.raises(SchemaNotReady) as caught:
                await attempt()
            assert "was migrated by a newer Mailroom" in str(caught.value)
    finally:
        await directory.close()


async def test_two_processes_creating_the_schema_at_once_both_succeed(
    database_url: str, tmp_path: Path
) -> None:
    """Two commands (or nodes starting) on a fresh database at the same moment."""
    first = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    second = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    try:
        await asyncio.gather(first.migrate(), second.migrate())
        assert await first.schema_state() is SchemaState.CURRENT
        await second.add_domain("example.org")
        assert [domain.name for domain in await first.list_domains()] == ["example.org"]
    finally:
        await first.close()
        await second.close()
