"""`mailroom auth test|hash`: check a login the way the servers would (like
`doveadm auth test`), and make password hashes for the config's master users."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Annotated

import typer

from mailroom import app as application
from mailroom.auth import AuthRequest
from mailroom.cli.command import (
    ConfigOption,
    command,
    command_group,
    console,
    error_console,
    fail,
    load,
    prompt_new_password,
    read_password_from_stdin,
    run,
    with_directory,
)
from mailroom.directory import Directory

app = command_group("Check logins and make password hashes.")

# Exit status of a refused login, as doveadm's (EX_NOPERM).
LOGIN_REFUSED_STATUS = 77


@command(app, "test")
def test(
    login: Annotated[
        str, typer.Argument(help="Login as a client would type it (also user*master).")
    ],
    password: Annotated[
        str | None,
        typer.Argument(help="The password (asked for if not given).", show_default=False),
    ] = None,
    client_ip: Annotated[
        str, typer.Option("--client-ip", help="Pretend the client connects from here.")
    ] = "127.0.0.1",
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol to log.")] = "cli",
    config: ConfigOption = None,
) -> None:
    """Say whether a login would succeed, and why not. Changes nothing (no hash upgrade,
    no throttle counts); exit status 0 if it would succeed, 77 if not."""
    settings = load(config)
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        fail(f"--client-ip: {client_ip!r} is not an IP address")
    secret = password if password is not None else typer.prompt("Password", hide_input=True)

    async def action(directory: Directory) -> bool:
        async with application.login_checker(settings, directory) as authenticator:
            result = await authenticator.authenticate(
                AuthRequest(protocol=protocol, client_ip=address, login=login, password=secret)
            )
        if result.ok:
            via = f" (through master user {result.master})" if result.master else ""
            console.print(f"auth succeeded: {login} logs in as {result.account}{via}")
            return True
        error_console.print(f"auth failed: {result.reason}")
        return False

    if not run(with_directory(settings, action, reads_only=True)):
        raise typer.Exit(LOGIN_REFUSED_STATUS)


@command(app, "hash")
def hash_(
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print an argon2id hash of a password (for a master user's password_hash)."""
    settings = load(config)
    password = read_password_from_stdin() if password_stdin else prompt_new_password()

    async def action() -> str:
        return await asyncio.to_thread(application.password_hasher(settings).hash, password)

    console.print(run(action()))
