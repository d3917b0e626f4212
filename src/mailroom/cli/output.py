"""How commands print what they list: a table for a person at a terminal, plain
tab-separated rows when piped (never cut at 80 columns: `mailroom queue list | grep`
sees every address), or JSON for scripts (`--format`)."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from mailroom.cli.command import console


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    PLAIN = "plain"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        help="table (the default at a terminal), plain (tab-separated rows, the default "
        "when piped) or json.",
        show_default=False,
    ),
]


def chosen(format_: OutputFormat | None) -> OutputFormat:
    """The format asked for, else a table at a terminal and plain rows elsewhere."""
    if format_ is not None:
        return format_
    return OutputFormat.TABLE if console.is_terminal else OutputFormat.PLAIN


def print_listing(
    format_: OutputFormat | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    records: Sequence[dict[str, Any]],
) -> OutputFormat:
    """Print `rows` under `columns` (table, plain) or `records` (json); returns the
    format used. In plain rows a cell's line breaks become ", "."""
    used = chosen(format_)
    if used is OutputFormat.JSON:
        console.print(json.dumps(list(records), indent=2, ensure_ascii=False))
    elif used is OutputFormat.PLAIN:
        for row in rows:
            # Written as is: rich would expand the tabs into spaces.
            typer.echo("\t".join(cell.replace("\n", ", ") for cell in row))
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    return used


def print_fields(fields: Sequence[tuple[str, str]]) -> None:
    """One record's fields: aligned at a terminal, `name: value` lines elsewhere."""
    if console.is_terminal:
        table = Table(show_header=False, box=None)
        for name, value in fields:
            table.add_row(name, value)
        console.print(table)
    else:
        for name, value in fields:
            console.print(f"{name}: {value}")
