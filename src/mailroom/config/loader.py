"""Reading `mailroom.toml`: TOML syntax, then the typed model, with errors that name
the file, the line and the key.

tomllib reports syntax errors with a line but keeps no positions for values, and
pydantic reports a key path without a line, so `line_of_key` finds the line of a
key path in the text itself (tables, arrays of tables, dotted and inline keys).
No TOML library exposes value positions; this lookup is the only hand-written part.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from mailroom.config.model import Config

DEFAULT_CONFIG_PATH = Path("/etc/mailroom/mailroom.toml")
CONFIG_ENVIRONMENT_VARIABLE = "MAILROOM_CONFIG"


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config file."""

    line: int | None
    key: str
    message: str


class ConfigError(Exception):
    """A config file that cannot be used; `str()` is one line per problem, for a person."""

    def __init__(self, path: Path, problems: Sequence[ConfigProblem]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(self.describe())

    def describe(self) -> str:
        lines = []
        for problem in self.problems:
            where = f"{self.path}:{problem.line}" if problem.line else str(self.path)
            key = f" {problem.key}:" if problem.key else ""
            lines.append(f"{where}:{key} {problem.message}")
        return "\n".join(lines)


def default_config_path() -> Path:
    """`$MAILROOM_CONFIG`, else /etc/mailroom/mailroom.toml."""
    return Path(os.environ.get(CONFIG_ENVIRONMENT_VARIABLE) or DEFAULT_CONFIG_PATH)


def load_config(path: Path) -> Config:
    """Read, parse and validate `path`; raise ConfigError naming file, line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, [ConfigProblem(None, "", "no such file (create one with `mailroom init DIR`)")]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, [ConfigProblem(None, "", f"cannot read: {error}")]) from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"\(at line (\d+), column \d+\)", str(error))
        line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise ConfigError(path, [ConfigProblem(line, "", f"TOML syntax: {message}")]) from None
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        problems = [
            ConfigProblem(
                line_of_key(text, item["loc"]), format_key(item["loc"]), describe_problem(item)
            )
            for item in error.errors()
        ]
        raise ConfigError(path, problems) from None
    config._source = path.resolve()
    return config


def describe_problem(item: object) -> str:
    assert isinstance(item, dict)
    kind, message = item["type"], str(item["msg"])
    if kind == "extra_forbidden":
        return "unknown key (see the example config from `mailroom init` for every key)"
    if kind == "missing":
        return "required key is missing"
    return message.removeprefix("Value error, ")


def format_key(loc: Sequence[int | str]) -> str:
    """('listeners', 0, 'port') -> 'listeners[0].port'."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key


_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _split_key(raw: str) -> list[str]:
    return [part.strip().strip("\"'") for part in raw.split(".")]


def line_of_key(text: str, loc: Sequence[int | str]) -> int | None:
    """The 1-based line where the key path `loc` is set, or where its table starts.

    Falls back to the nearest enclosing table, so an error about a whole table
    (a missing key, say) points at that table's header.
    """
    path = [str(p) if not isinstance(p, int) else p for p in loc]
    best: tuple[int, int] | None = None  # (matched depth, line)
    table: list[str | int] = []
    array_counts: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            table = _table_path(_split_key(header.group(2)), header.group(1) == "[[", array_counts)
            full: list[str | int] = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            full = [*table, *_split_key(key.group(1))]
        depth = _common_prefix(full, path)
        if (depth == len(full) or depth == len(path)) and (best is None or depth > best[0]):
            best = (depth, number)
    return best[1] if best else None


def _table_path(
    names: list[str], is_array: bool, counts: dict[tuple[str, ...], int]
) -> list[str | int]:
    """The key path of a table header: `[listeners.tls]` inside the second `[[listeners]]`
    is ['listeners', 1, 'tls']; a `[[listeners]]` header counts one more listener."""
    path: list[str | int] = []
    for position, name in enumerate(names):
        path.append(name)
        plain = tuple(names[: position + 1])
        if is_array and position == len(names) - 1:
            counts[plain] = counts.get(plain, -1) + 1
            path.append(counts[plain])
        elif plain in counts:
            path.append(counts[plain])
    return path


def _common_prefix(a: Sequence[str | int], b: Sequence[str | int]) -> int:
    depth = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        depth += 1
    return depth
