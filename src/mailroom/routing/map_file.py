"""What Postfix's lookup-table source files share: logical lines, comments, and errors that
name the file and the line.

Postfix reads every table source (regexp_table(5), aliases(5), postmap(1) input) through
one routine, readlline(3): empty and whitespace-only lines are ignored, as are lines whose
first non-whitespace character is `#`; a line that starts with whitespace continues the
previous logical line (comment lines inside a continuation are dropped and do not end
it). Postfix warns about a continuation with nothing to continue and skips it; Mailroom
refuses it, like every other mistake in these files: a table is loaded whole or not at
all, so a typo never half-applies.

No Python library reads Postfix's table sources (PyPI, checked 2026-11); the formats are
small, so their parsers are written here, one module each, on these shared pieces.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

WHITESPACE = " \t\n\v\f\r"
"""What Postfix's ISSPACE() calls whitespace: ASCII only (a no-break space is text)."""

MAX_MAP_FILE_BYTES = 16 * 2**20
"""Largest table file read; anything bigger is a mistake (a log file named by accident)."""


class MapFileError(Exception):
    """A table file that cannot be used; `str()` is one line: `path:line: message`."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        # A message quotes the file's text: keep control characters from breaking the line.
        self.message = "".join(char if char.isprintable() else repr(char)[1:-1] for char in message)
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {self.message}")


@dataclass(frozen=True)
class LogicalLine:
    number: int
    """The physical line (1-based) where this logical line starts."""
    text: str
    """The line with its continuation lines appended, trailing whitespace removed."""


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.lstrip(WHITESPACE)
    return not stripped or stripped.startswith("#")


def logical_lines(text: str, path: Path | str) -> Iterator[LogicalLine]:
    """The logical lines of a table source, as readlline(3) forms them.

    Continuation lines are appended as they are (their leading whitespace included, their
    line break dropped), which is what Postfix does."""
    start = 0
    parts: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if _is_blank_or_comment(line):
            continue
        if line[0] in WHITESPACE:
            if not parts:
                raise MapFileError(
                    path,
                    number,
                    "this line starts with whitespace, which continues the line before, "
                    "but there is no line before it to continue",
                )
            parts.append(line)
            continue
        if parts:
            yield LogicalLine(start, "".join(parts).rstrip(WHITESPACE))
        start, parts = number, [line]
    if parts:
        yield LogicalLine(start, "".join(parts).rstrip(WHITESPACE))


def read_map_file(path: Path) -> str:
    """The text of a table file (UTF-8); MapFileError if it cannot be read."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_MAP_FILE_BYTES + 1)
    except FileNotFoundError:
        raise MapFileError(path, None, "no such file") from None
    except OSError as error:
        raise MapFileError(path, None, f"cannot read: {error.strerror or error}") from None
    if len(data) > MAX_MAP_FILE_BYTES:
        raise MapFileError(path, None, f"larger than {MAX_MAP_FILE_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise MapFileError(path, line, "not UTF-8 text") from None
