"""`mailroom address add|remove`: extra addresses an account owns (the legacy
`fullnamealias`, e.g. user.name@example.org beside user@example.org)."""

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
from mailroom.directory import Directory

app = command_group("Extra addresses delivered to an account.")


@command(app, "add")
def add(
    account: Annotated[str, typer.Argument(help="The account's primary address.")],
    address: Annotated[str, typer.Argument(help="The extra address.")],
    config: ConfigOption = None,
) -> None:
    """Give an account an extra address (mail to it is delivered to the account, and the
    account may send from it)."""

    async def action(directory: Directory) -> None:
        owner = await directory.add_address(account, address)
        console.print(f"{owner.address} now also receives {', '.join(owner.extra_addresses)}")

    run(with_directory(load(config), action))


@command(app, "remove")
def remove(
    address: Annotated[str, typer.Argument(help="The extra address.")],
    config: ConfigOption = None,
) -> None:
    """Remove an extra address."""

    async def action(directory: Directory) -> None:
        owner = await directory.remove_address(address)
        console.print(f"removed {address} from {owner.address}")

    run(with_directory(load(config), action))
