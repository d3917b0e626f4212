"""The `mailroom` command: one module per command group; every command takes -c CONFIG.

Each command's module is imported when that command runs (or when `--help` lists it):
`mailroom user add` then loads the directory and the password hasher, not the protocol
servers, the web admin and the import tools (2.9 s of CPU per command before, on the
2-core CI machine, most of it importing what the command never used).
"""

from __future__ import annotations

import importlib

import typer
from typer._click.core import Command, Context
from typer.core import TyperGroup

from mailroom import __version__
from mailroom.app.process_limits import use_private_umask
from mailroom.cli.command import ConfigOption, remember_root_config

COMMANDS = {
    "init": "init",
    "serve": "serve",
    "check": "check",
    "config": "config",
    "directory": "schema",
    "domain": "domain",
    "user": "user",
    "address": "address",
    "alias": "alias",
    "transport": "transport",
    "auth": "auth",
    "queue": "queue",
    "dkim": "dkim",
    "dns": "dns",
    "import": "legacy_import",
}
"""Each command's name and its module in this package, which holds `app`: a group of
commands, or (SINGLE) one command alone."""

SINGLE = frozenset({"init", "serve", "check"})


class CommandsOnDemand(TyperGroup):
    """The root of the commands: imports a command's module when it is asked for."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        commands: typer.Typer = importlib.import_module(f"{__name__}.{module}").app
        if cmd_name in SINGLE:
            return typer.main.get_command(commands)
        return typer.main.get_group(commands)


app = typer.Typer(
    name="mailroom",
    cls=CommandsOnDemand,
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


def main() -> None:
    use_private_umask()  # nothing the command or the server creates is for other users
    app()
