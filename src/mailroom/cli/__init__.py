"""The `mailroom` command: one module per command group; every command takes -c CONFIG."""

from __future__ import annotations

import typer

from mailroom import __version__
from mailroom.app.process_limits import use_private_umask
from mailroom.cli import (
    address,
    alias,
    auth,
    config,
    dkim,
    dns,
    domain,
    legacy_import,
    queue,
    schema,
    transport,
    user,
)
from mailroom.cli.check import PluginCommand, check
from mailroom.cli.command import ConfigOption, remember_root_config, reports_errors
from mailroom.cli.init import init
from mailroom.cli.serve import serve

app = typer.Typer(
    name="mailroom",
    help="Mailroom: the whole mail host in one program.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts as written: `[host]:port`, `[dkim]`
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mailroom {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    config_option: ConfigOption = None,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    remember_root_config(config_option)


app.command("init")(reports_errors(init))
app.command("serve")(reports_errors(serve))
app.command("check", cls=PluginCommand)(check)
app.add_typer(config.app, name="config")
app.add_typer(schema.app, name="directory")
app.add_typer(domain.app, name="domain")
app.add_typer(user.app, name="user")
app.add_typer(address.app, name="address")
app.add_typer(alias.app, name="alias")
app.add_typer(transport.app, name="transport")
app.add_typer(auth.app, name="auth")
app.add_typer(queue.app, name="queue")
app.add_typer(dkim.app, name="dkim")
app.add_typer(dns.app, name="dns")
app.add_typer(legacy_import.app, name="import")


def main() -> None:
    use_private_umask()  # nothing the command or the server creates is for other users
    app()
