"""`mailroom domain add|list|remove`: the domains this host receives mail for."""

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
from mailroom.directory import Directory

app = command_group("Domains this host receives mail for.")

NameArgument = Annotated[str, typer.Argument(help="Domain name, like example.org.")]


@command(app, "add")
def add(name: NameArgument, config: ConfigOption = None) -> None:
    """Add a domain."""

    async def action(directory: Directory) -> None:
        domain = await directory.add_domain(name)
        console.print(f"added domain {domain.name}")

    run(with_directory(load(config), action))


@command(app, "list")
def list_(config: ConfigOption = None, format_: FormatOption = None) -> None:
    """List the domains."""

    async def action(directory: Directory) -> None:
        accounts = await directory.list_accounts()
        records = [
            {
                "domain": domain.name,
                "accounts": sum(1 for a in accounts if a.address.endswith("@" + domain.name)),
                "added": domain.created.strftime("%Y-%m-%d"),
            }
            for domain in await directory.list_domains()
        ]
        rows = [[str(record[key]) for key in ("domain", "accounts", "added")] for record in records]
        print_listing(format_, ("domain", "accounts", "added"), rows, records)

    run(with_directory(load(config), action, reads_only=True))


@command(app, "remove")
def remove(name: NameArgument, config: ConfigOption = None) -> None:
    """Remove a domain that has no accounts, addresses or aliases left."""

    async def action(directory: Directory) -> None:
        await directory.remove_domain(name)
        console.print(f"removed domain {name}")

    run(with_directory(load(config), action))
