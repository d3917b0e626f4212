"""`mailroom directory upgrade`: create the directory's tables on a fresh database, or
upgrade them to this version's schema, without starting the server. Every command that
changes the directory does the same first; this one is for the commands that only read."""

from __future__ import annotations

from mailroom.cli.command import ConfigOption, command, command_group, console, load, run
from mailroom.directory import Directory, SchemaState

app = command_group("The directory's database schema.")


@command(app, "upgrade")
def upgrade(config: ConfigOption = None) -> None:
    """Create the directory's tables, or upgrade them to this Mailroom's schema (as
    `mailroom serve` does at start). Safe to repeat; changes nothing when current."""
    settings = load(config)

    async def upgraded() -> tuple[SchemaState, str]:
        base = settings.source.parent if settings.source else None
        directory = await Directory.connect(settings.directory, base)
        try:
            before = await directory.schema_state()
            await directory.migrate()
            return before, directory.location
        finally:
            await directory.close()

    before, location = run(upgraded())
    said = {
        SchemaState.EMPTY: "created the directory's tables in",
        SchemaState.OLDER: "upgraded the directory's schema in",
    }
    console.print(f"{said.get(before, 'the directory schema is current in')} {location}")
