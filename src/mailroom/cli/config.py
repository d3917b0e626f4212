"""`mailroom config check`: would `mailroom serve` start with this config? It builds
the same host `serve` builds (the directory reached, map files read, certificates
loaded, every listener's protocol found) without listening, taking no lock and writing
nothing, so it is safe beside a running server; then prints what would listen where,
and warns, one line per file, about secrets other local users could read."""

from __future__ import annotations

from mailroom import app as application
from mailroom.cli.command import (
    ConfigOption,
    command,
    command_group,
    config_path,
    console,
    load,
    run,
)
from mailroom.config import Config
from mailroom.directory import SchemaState

app = command_group("Check the configuration.")


async def inspect_host(config: Config) -> tuple[str, list[str]]:
    """What the directory holds and the listeners of the host `config` builds."""
    async with application.open_host(config, listen=False) as host:
        directory = host.services.directory
        state = await directory.schema_state()
        if state is SchemaState.EMPTY:
            held = "no directory tables yet: serve creates them"
        elif state is SchemaState.OLDER:
            held = "an older directory schema: serve upgrades it"
        else:
            await directory.require_schema()  # a newer schema: serve would refuse it
            held = f"{len(await directory.list_domains())} domain(s)"
        return held, host.listeners()


@command(app, "check")
def check(config: ConfigOption = None) -> None:
    """Build the host as `mailroom serve` would, without listening; print what would
    listen where. Exit status 1, with one line saying what to fix, if serve would refuse."""
    settings = load(config)
    held, listeners = run(inspect_host(settings))
    console.print(f"{config_path(config)}: OK ({held}, {len(listeners)} listener(s))")
    for line in listeners:
        console.print(f"would listen: {line}")
    for loose in application.loose_secret_files(settings):
        console.print(loose.warning())
