"""`mailroom user add|list|show|passwd|disable|enable|remove`: accounts."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from mailroom import app as application
from mailroom.cli.command import (
    ConfigOption,
    command,
    command_group,
    console,
    fail,
    load,
    prompt_new_password,
    read_password_from_stdin,
    run,
    with_directory,
)
from mailroom.cli.output import FormatOption, print_fields, print_listing
from mailroom.config import Config
from mailroom.config.sizes import format_size, parse_size
from mailroom.directory import (
    Account,
    Directory,
    UnknownDomain,
    normalize_address,
    split_address,
)
from mailroom.directory.passwords import identify_scheme

app = command_group("Accounts: mailboxes with a login.")

AddressArgument = Annotated[
    str, typer.Argument(help="The account's address, like alice@example.org.")
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
PasswordHash = Annotated[
    str | None,
    typer.Option(
        "--password-hash",
        help="Carry over an existing hash ($1$, $5$, $6$, bcrypt, argon2, or Dovecot's {SCHEME}"
        " forms); old schemes are upgraded to argon2id at the next login.",
    ),
]


async def new_password_hash(config: Config, password_stdin: bool, password_hash: str | None) -> str:
    if password_hash is not None:
        if password_stdin:
            fail("give either --password-stdin or --password-hash, not both")
        identify_scheme(password_hash)
        return password_hash
    password = read_password_from_stdin() if password_stdin else prompt_new_password()
    return await asyncio.to_thread(application.password_hasher(config).hash, password)


def quota_bytes(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError as error:
        fail(f"--quota: {error}")


@command(app, "add")
def add(
    address: AddressArgument,
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    quota: Annotated[
        str | None, typer.Option("--quota", help="Storage limit, like 2G (default: unlimited).")
    ] = None,
    password_stdin: PasswordStdin = False,
    password_hash: PasswordHash = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    config: ConfigOption = None,
) -> None:
    """Add an account. The password is asked twice unless given another way."""
    settings = load(config)
    limit = quota_bytes(quota)

    async def action(directory: Directory) -> None:
        # Refuse a bad address or an unknown domain before asking for a password.
        local_domain = split_address(normalize_address(address))[1]
        if not await directory.is_local_domain(local_domain):
            raise UnknownDomain(local_domain)
        hashed = await new_password_hash(settings, password_stdin, password_hash)
        account = await directory.add_account(
            address, hashed, display_name=name, quota_bytes=limit, enabled=not disabled
        )
        console.print(f"added account {account.address}")

    run(with_directory(settings, action))


@command(app, "list")
def list_(
    domain: Annotated[str | None, typer.Argument(help="Only this domain's accounts.")] = None,
    config: ConfigOption = None,
    format_: FormatOption = None,
) -> None:
    """List accounts."""

    async def action(directory: Directory) -> None:
        accounts = await directory.list_accounts(domain)
        rows = [
            [
                account.address,
                account.display_name,
                format_size(account.quota_bytes),
                "yes" if account.enabled else "no",
                ", ".join(account.extra_addresses),
            ]
            for account in accounts
        ]
        records = [
            {
                "address": account.address,
                "name": account.display_name,
                "quota_bytes": account.quota_bytes,
                "enabled": account.enabled,
                "extra_addresses": list(account.extra_addresses),
            }
            for account in accounts
        ]
        columns = ("address", "name", "quota", "enabled", "extra addresses")
        print_listing(format_, columns, rows, records)

    run(with_directory(load(config), action, reads_only=True))


def show_account(account: Account, send_as: list[str]) -> None:
    print_fields(
        [
            ("address", account.address),
            ("name", account.display_name or "-"),
            ("enabled", "yes" if account.enabled else "no"),
            ("quota", format_size(account.quota_bytes)),
            ("extra addresses", ", ".join(account.extra_addresses) or "-"),
            ("may send as", ", ".join(send_as) or "-"),
            ("password scheme", _scheme(account.password_hash)),
            ("created", account.created.strftime("%Y-%m-%d %H:%M:%S %Z")),
        ]
    )


def _scheme(stored: str) -> str:
    try:
        return identify_scheme(stored)
    except ValueError:
        return "unknown (login impossible until `mailroom user passwd`)"


@command(app, "show")
def show(address: AddressArgument, config: ConfigOption = None) -> None:
    """Show one account."""

    async def action(directory: Directory) -> None:
        account = await directory.get_account(address)
        grants = [
            alias.address
            for alias in await directory.list_aliases()
            if account.address in alias.send_as
        ]
        show_account(account, grants)

    run(with_directory(load(config), action, reads_only=True))


@command(app, "passwd")
def passwd(
    address: AddressArgument,
    password_stdin: PasswordStdin = False,
    password_hash: PasswordHash = None,
    config: ConfigOption = None,
) -> None:
    """Set an account's password."""
    settings = load(config)

    async def action(directory: Directory) -> None:
        account = await directory.get_account(address)
        hashed = await new_password_hash(settings, password_stdin, password_hash)
        await directory.set_password_hash(account.address, hashed)
        console.print(f"password of {account.address} changed")

    run(with_directory(settings, action))


def _set_enabled(address: str, enabled: bool, config: ConfigOption) -> None:
    async def action(directory: Directory) -> None:
        account = await directory.set_enabled(address, enabled)
        console.print(f"{account.address} {'enabled' if enabled else 'disabled'}")

    run(with_directory(load(config), action))


@command(app, "disable")
def disable(address: AddressArgument, config: ConfigOption = None) -> None:
    """Refuse the account's logins (mail is still delivered to it)."""
    _set_enabled(address, False, config)


@command(app, "enable")
def enable(address: AddressArgument, config: ConfigOption = None) -> None:
    """Allow the account's logins again."""
    _set_enabled(address, True, config)


@command(app, "remove")
def remove(
    address: AddressArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config: ConfigOption = None,
) -> None:
    """Remove an account from the directory (its mail on disk is left in place)."""
    settings = load(config)
    if not yes:
        typer.confirm(f"Remove account {address}?", abort=True)

    async def action(directory: Directory) -> None:
        await directory.remove_account(address)
        console.print(f"removed account {address}")

    run(with_directory(settings, action))
