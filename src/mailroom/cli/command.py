"""What every `mailroom` command shares: the -c option, loading the config, opening the
directory, and turning refusals into one clear line and a non-zero exit."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from typer.core import TyperCommand

from mailroom.app.host_files import HostFileError, ListenError, open_directory
from mailroom.config import Config, ConfigError, default_config_path, load_config
from mailroom.directory import Directory, DirectoryError
from mailroom.net import CertificateError
from mailroom.queue import QueueError
from mailroom.routing import MapFileError
from mailroom.store import MailboxPathError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False, markup=False, soft_wrap=True)  # [host]:port is no markup
error_console = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $MAILROOM_CONFIG or /etc/mailroom/mailroom.toml).",
        show_default=False,
    ),
]


# What a person can fix (a file, a value, a port): one line, no traceback.
OPERATOR_ERRORS = (
    ConfigError,
    DirectoryError,
    MapFileError,
    CertificateError,
    HostFileError,
    ListenError,
    MailboxPathError,
    QueueError,
)


def command_group(help_text: str) -> typer.Typer:
    """A group of commands (`mailroom user ...`). Help texts are printed as written:
    no rich markup, which would eat `[host]:port` and `[dkim]`."""
    return typer.Typer(
        help=help_text, no_args_is_help=True, rich_markup_mode=None, add_completion=False
    )


def single_command(name: str, function: F, cls: type[TyperCommand] | None = None) -> typer.Typer:
    """A command of its own, in no group (`mailroom serve`)."""
    commands = typer.Typer(rich_markup_mode=None, add_completion=False)
    commands.command(name, cls=cls)(function)
    return commands


class CommandError(Exception):
    """A refusal to show as one line, with exit status `status`."""

    def __init__(self, message: str, status: int = 1) -> None:
        self.status = status
        super().__init__(message)


def fail(message: str, status: int = 1) -> NoReturn:
    raise CommandError(message, status)


class _RootOptions:
    """The -c given before the command's name (`mailroom -c FILE user list`)."""

    config: Path | None = None


def remember_root_config(option: Path | None) -> None:
    _RootOptions.config = option


def config_path(option: Path | None) -> Path:
    """The -c option of the command, else of `mailroom` itself, else the default."""
    return option or _RootOptions.config or default_config_path()


def load(option: Path | None) -> Config:
    return load_config(config_path(option))


def run(work: Awaitable[T]) -> T:
    """Run one command's coroutine to its end."""
    return asyncio.run(_awaited(work))


def reports_errors(function: F) -> F:
    """Turn every expected refusal of a command into one line on stderr and an exit status."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except CommandError as error:
            error_console.print(f"mailroom: error: {error}")
            raise typer.Exit(error.status) from None
        except OPERATOR_ERRORS as error:
            error_console.print(f"mailroom: error: {error}")
            raise typer.Exit(1) from None
        except OSError as error:
            # The last resort for what a command did not foresee (a disk full, a
            # permission): the file and the reason, never a traceback.
            where = f"{error.filename}: " if error.filename else ""
            error_console.print(f"mailroom: error: {where}{error.strerror or error}")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def command(app: typer.Typer, name: str) -> Callable[[F], F]:
    """Register a command on `app` with error reporting (use instead of `@app.command`)."""

    def register(function: F) -> F:
        app.command(name)(reports_errors(function))
        return function

    return register


async def _awaited(work: Awaitable[T]) -> T:
    return await work


async def with_directory(
    config: Config, action: Callable[[Directory], Awaitable[T]], *, reads_only: bool = False
) -> T:
    """Open the directory of `config`, run `action` on it and close it. A command that
    changes the directory first creates or upgrades its schema, as `serve` does (a fresh
    database needs no other step); one that `reads_only` refuses, in one line saying what
    to run, unless the schema is current."""
    directory = await open_directory(config)
    try:
        if reads_only:
            await directory.require_schema()
        else:
            await directory.migrate()
        return await action(directory)
    finally:
        await directory.close()


def read_password_from_stdin() -> str:
    """One line from standard input, without its line ending."""
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        fail("no password on standard input")
    return password


def prompt_new_password() -> str:
    """Ask twice, without echo, until both agree."""
    first = typer.prompt("New password", hide_input=True)
    second = typer.prompt("Repeat the password", hide_input=True)
    if first != second:
        fail("the two passwords differ; nothing was changed")
    if not first:
        fail("the password is empty; nothing was changed")
    return str(first)
