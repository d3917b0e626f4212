"""`mailroom alias add|list|remove|grant|revoke`: aliases and who may send as them.

The legacy host had two kinds: aliases nobody sends from (/etc/aliases, e.g.
postmaster) and aliases a designated person sends from (e.g. pr@). Here both are
one kind; `--send-as` grants an account the right to use the alias as its sender.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mailroom.cli.command import (
    ConfigOption,
    command,
    command_group,
    console,
    load,
    run,
    with_directory,
)
from mailroom.cli.output import FormatOption, print_listing
from mailroom.directory import Alias, Directory

app = command_group("Aliases forwarding to other addresses.")

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
    format_: FormatOption = None,
) -> None:
    """List aliases."""

    async def action(directory: Directory) -> None:
        aliases = await directory.list_aliases(domain)
        rows = [
            [alias.address, ", ".join(alias.targets), ", ".join(alias.send_as) or "-"]
            for alias in aliases
        ]
        records = [
            {"alias": alias.address, "targets": list(alias.targets), "send_as": list(alias.send_as)}
            for alias in aliases
        ]
        print_listing(format_, ("alias", "targets", "send-as"), rows, records)

    run(with_directory(load(config), action, reads_only=True))


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
