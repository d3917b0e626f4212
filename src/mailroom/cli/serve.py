"""`mailroom serve`: run the mail host in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer
import uvloop

from mailroom import app as application
from mailroom.app.service_user import ServiceUser, ServiceUserError, service_user
from mailroom.cli.command import ConfigOption, console, fail, load, reports_errors, single_command
from mailroom.config import Config


def serve(
    config: ConfigOption = None,
    as_root: Annotated[
        bool,
        typer.Option(
            "--as-root",
            help="Started as root, stay root: no [server] user needed (tests; a container "
            "whose root is unprivileged). Mail files are then root's.",
        ),
    ] = False,
) -> None:
    """Start the listeners of the config and serve until Ctrl-C or SIGTERM; SIGHUP
    re-reads certificates and map files. What `mailroom config check` refuses (a
    listener of a protocol not built yet, a bad map file, a missing certificate)
    stops it at start. Started as root it binds its ports, then runs as `[server]
    user`; without that setting it refuses to run as root (unless --as-root)."""
    settings = load(config)
    application.protocol_builders(settings)  # a config refusal comes first
    run_as = None if as_root and not settings.server.user else _service_user(settings)
    application.configure_logging(settings)

    async def main() -> None:
        try:
            await application.serve(
                settings, announce=lambda line: console.print(line), run_as=run_as
            )
        except ServiceUserError as error:
            fail(str(error))

    application.tune_garbage_collector()
    # uvloop: the same asyncio API on libuv, measurably faster for many connections.
    uvloop.run(main())


def _service_user(settings: Config) -> ServiceUser | None:
    try:
        return service_user(settings)
    except ServiceUserError as error:
        fail(str(error))


app = single_command("serve", reports_errors(serve))
