"""`mailroom transport set|list|remove`: where other domains' mail goes (the legacy
Postfix `transport` map, e.g. lists.example.org -> [lists-host]:25)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mailroom.cli.command import ConfigOption, command, console, load, run, with_directory
from mailroom.directory import Directory

app = typer.Typer(help="Next hops for relay domains.", no_args_is_help=True)

DomainArgument = Annotated[str, typer.Argument(help="The domain, like lists.example.org.")]


@command(app, "set")
def set_(
    domain: DomainArgument,
    nexthop: Annotated[
        str, typer.Argument(help="[host]:port (no MX lookup), host:port, or Postfix's smtp:[host]")
    ],
    config: ConfigOption = None,
) -> None:
    """Send a domain's mail to a fixed next hop; mail for it is accepted from anyone."""

    async def action(directory: Directory) -> None:
        transport = await directory.set_transport(domain, nexthop)
        console.print(f"{transport.domain} -> {transport.nexthop}")

    run(with_directory(load(config), action))


@command(app, "list")
def list_(config: ConfigOption = None) -> None:
    """List transports."""

    async def action(directory: Directory) -> None:
        table = Table("domain", "next hop")
        for transport in await directory.list_transports():
            table.add_row(transport.domain, transport.nexthop)
        console.print(table)

    run(with_directory(load(config), action))


@command(app, "remove")
def remove(domain: DomainArgument, config: ConfigOption = None) -> None:
    """Remove a domain's transport."""

    async def action(directory: Directory) -> None:
        await directory.remove_transport(domain)
        console.print(f"removed transport of {domain}")

    run(with_directory(load(config), action))
