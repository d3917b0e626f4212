"""`mailroom serve`: run the mail host in the foreground."""

from __future__ import annotations

import uvloop

from mailroom import app as application
from mailroom.cli.command import ConfigOption, console, load


def serve(config: ConfigOption = None) -> None:
    """Start the listeners of the config and serve until Ctrl-C or SIGTERM; SIGHUP
    re-reads certificates and map files. What `mailroom config check` refuses (a
    listener of a protocol not built yet, a bad map file, a missing certificate)
    stops it at start."""
    settings = load(config)
    application.configure_logging(settings)

    async def main() -> None:
        await application.serve(settings, announce=lambda line: console.print(line))

    application.tune_garbage_collector()
    # uvloop: the same asyncio API on libuv, measurably faster for many connections.
    uvloop.run(main())
