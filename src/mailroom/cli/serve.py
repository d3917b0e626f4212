"""`mailroom serve`: run the mail host in the foreground."""

from __future__ import annotations

from mailroom import app as application
from mailroom.cli.command import ConfigOption, console, load, run


def serve(config: ConfigOption = None) -> None:
    """Start the listeners of the config and serve until Ctrl-C or SIGTERM."""

    async def main() -> None:
        settings = load(config)
        application.configure_logging(settings)
        await application.serve(settings, announce=lambda line: console.print(line))

    run(main())
