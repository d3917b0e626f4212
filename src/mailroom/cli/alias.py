"""`mailroom alias add|list|remove|grant|revoke`: aliases and who may send as them.

The legacy host had two kinds: aliases nobody sends from (/etc/aliases, e.g.
postmaster) and aliases a designated person sends from (e.g. pr@). Here both are
one kind; `--send-as` grants an account the right to use the alias as its sender.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mailroom.cli.command import ConfigOption, command, console, load, run, with_directory
from mailroom.directory import Alias, Directory

app = typer.Typer(help="Aliases forwarding to other addresses.", no_args_is_help=True)

AliasArgument = Annotated[str, typer.Argument(help="The alias address, like pr@example.org.")]
AccountArgument = Annotated[str, typer.Argument(help="An account's primary address.")]


def _describe(alias: Alias) -> str:
    grants = f" (send-as: {', '.join(alias.send_as)})" if alias.send_as else ""
    return f"{alias.address} -> {', '.join(alias.targets)}{grants}"


@command(app, "add")
def add(
    address: AliasArgument,
    targets: Annotated[list[str], typer.Argument(help="Where its mail goes: local or external.")],
    send_as: Annotated[
        list[str] | None,
        typer.Option("--send-as", help="An account that may send as this alias (repeatable)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Add an alias forwarding to one or more addresses."""

    async def action(directory: Directory) -> None:
        alias = await directory.add_alias(address, targets, send_as=send_as or [])
        console.print(f"added alias {_describe(alias)}")

    run(with_directory(load(config), action))


@command(app, "list")
def list_(
    domain: Annotated[str | None, typer.Argument(help="Only this domain's aliases.")] = None,
    config: ConfigOption = None,
) -> None:
    """List aliases."""

    async def action(directory: Directory) -> None:
        table = Table("alias", "targets", "send-as")
        for alias in await directory.list_aliases(domain):
            table.add_row(alias.address, ", ".join(alias.targets), ", ".join(alias.send_as) or "-")
        console.print(table)

    run(with_directory(load(config), action))


@command(app, "remove")
def remove(address: AliasArgument, config: ConfigOption = None) -> None:
    """Remove an alias and its send-as grants."""

    async def action(directory: Directory) -> None:
        await directory.remove_alias(address)
        console.print(f"removed alias {address}")

    run(with_directory(load(config), action))


@command(app, "grant")
def grant(address: AliasArgument, account: AccountArgument, config: ConfigOption = None) -> None:
    """Let an account send as the alias."""

    async def action(directory: Directory) -> None:
        alias = await directory.grant_send_as(address, account)
        console.print(f"{_describe(alias)}")

    run(with_directory(load(config), action))


@command(app, "revoke")
def revoke(address: AliasArgument, account: AccountArgument, config: ConfigOption = None) -> None:
    """Withdraw an account's right to send as the alias."""

    async def action(directory: Directory) -> None:
        alias = await directory.revoke_send_as(address, account)
        console.print(f"{_describe(alias)}")

    run(with_directory(load(config), action))
