"""`mailroom transport set|list|remove`: where other domains' mail goes (the legacy
Postfix `transport` map, e.g. lists.example.org -> [lists-host]:25)."""

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

app = command_group("Next hops for relay domains.")

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
def list_(config: ConfigOption = None, format_: FormatOption = None) -> None:
    """List transports."""

    async def action(directory: Directory) -> None:
        transports = await directory.list_transports()
        rows = [[transport.domain, transport.nexthop] for transport in transports]
        records = [{"domain": domain, "nexthop": nexthop} for domain, nexthop in rows]
        print_listing(format_, ("domain", "next hop"), rows, records)

    run(with_directory(load(config), action, reads_only=True))


@command(app, "remove")
def remove(domain: DomainArgument, config: ConfigOption = None) -> None:
    """Remove a domain's transport."""

    async def action(directory: Directory) -> None:
        await directory.remove_transport(domain)
        console.print(f"removed transport of {domain}")

    run(with_directory(load(config), action))
