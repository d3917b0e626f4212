"""`mailroom domain add|list|remove`: the domains this host receives mail for."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mailroom.cli.command import ConfigOption, command, console, load, run, with_directory
from mailroom.directory import Directory

app = typer.Typer(help="Domains this host receives mail for.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="Domain name, like example.org.")]


@command(app, "add")
def add(name: NameArgument, config: ConfigOption = None) -> None:
    """Add a domain."""

    async def action(directory: Directory) -> None:
        domain = await directory.add_domain(name)
        console.print(f"added domain {domain.name}")

    run(with_directory(load(config), action))


@command(app, "list")
def list_(config: ConfigOption = None) -> None:
    """List the domains."""

    async def action(directory: Directory) -> None:
        table = Table("domain", "accounts", "added")
        accounts = await directory.list_accounts()
        for domain in await directory.list_domains():
            count = sum(1 for a in accounts if a.address.endswith("@" + domain.name))
            table.add_row(domain.name, str(count), domain.created.strftime("%Y-%m-%d"))
        console.print(table)

    run(with_directory(load(config), action))


@command(app, "remove")
def remove(name: NameArgument, config: ConfigOption = None) -> None:
    """Remove a domain that has no accounts, addresses or aliases left."""

    async def action(directory: Directory) -> None:
        await directory.remove_domain(name)
        console.print(f"removed domain {name}")

    run(with_directory(load(config), action))
