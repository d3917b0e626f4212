"""What every `mailroom` command shares: the -c option, loading the config, opening the
directory, and turning refusals into one clear line and a non-zero exit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

from mailroom.config import Config, ConfigError, default_config_path, load_config
from mailroom.directory import Directory, DirectoryError

T = TypeVar("T")

console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $MAILROOM_CONFIG or /etc/mailroom/mailroom.toml).",
        show_default=False,
    ),
]


class CommandError(Exception):
    """A refusal to show as one line, with exit status `status`."""

    def __init__(self, message: str, status: int = 1) -> None:
        self.status = status
        super().__init__(message)


def fail(message: str, status: int = 1) -> NoReturn:
    raise CommandError(message, status)


def config_path(option: Path | None) -> Path:
    """The -c option of the command, else of `mailroom` itself, else the default."""
    if option is not None:
        return option
    context = click_context()
    root_option = context.find_root().obj if context is not None else None
    return root_option if isinstance(root_option, Path) else default_config_path()


def click_context() -> typer.Context | None:
    import click

    return click.get_current_context(silent=True)  # type: ignore[return-value]


def load(option: Path | None) -> Config:
    return load_config(config_path(option))


def run(work: Awaitable[T]) -> T:
    """Run one command's coroutine, turning every expected refusal into a clean exit."""
    try:
        return asyncio.run(_awaited(work))
    except CommandError as error:
        error_console.print(f"mailroom: error: {error}", markup=False)
        raise typer.Exit(error.status) from None
    except (ConfigError, DirectoryError) as error:
        error_console.print(f"mailroom: error: {error}", markup=False)
        raise typer.Exit(1) from None


async def _awaited(work: Awaitable[T]) -> T:
    return await work


async def with_directory(config: Config, action: Callable[[Directory], Awaitable[T]]) -> T:
    """Open the directory of `config`, run `action` on it and close it."""
    directory = await Directory.connect(config.directory, config.source.parent if config.source else None)
    try:
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
