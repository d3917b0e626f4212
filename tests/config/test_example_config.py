"""The example config `mailroom init` writes tells defaults from examples: a line
`# key = value` is the default, a line ending in `# example; default: ...` is not."""

from __future__ import annotations

import re
from pathlib import Path

from mailroom.config import parse_config
from mailroom.config.example import DEMO_LISTENERS, example_config_text

COMMENTED_KEY = re.compile(r"^# ([a-z_]+) = (.*)$")
TABLE = re.compile(r"^\[([a-z_.]+)\]$")


def commented_keys(text: str) -> list[tuple[int, str]]:
    """(index, line) of each commented `key = value` inside a [table] (not the
    commented listener and master-user examples, which are whole tables)."""
    found = []
    table: str | None = None
    for index, line in enumerate(text.splitlines()):
        if header := TABLE.match(line):
            table = header.group(1)
        elif line.startswith(("[[", "# [[")):
            table = None
        elif table is not None and COMMENTED_KEY.match(line):
            found.append((index, line))
    return found


def test_every_commented_value_is_the_default_or_says_it_is_an_example() -> None:
    text = example_config_text("mail.example.org", DEMO_LISTENERS[:1], "127.0.0.1")
    defaults = parse_config(text, Path("m.toml")).model_dump()
    lines = text.splitlines()
    misleading = []
    for index, line in commented_keys(text):
        if "# example; default: " in line:
            continue
        uncommented = [*lines[:index], line.removeprefix("# "), *lines[index + 1 :]]
        if parse_config("\n".join(uncommented), Path("m.toml")).model_dump() != defaults:
            misleading.append(line)
    assert misleading == []


def test_an_example_value_is_not_the_default() -> None:
    text = example_config_text("mail.example.org", DEMO_LISTENERS[:1], "127.0.0.1")
    assert '# default_quota = "2G"  # example; default: none (unlimited)' in text
    assert parse_config(text, Path("m.toml")).mailbox.default_quota is None
