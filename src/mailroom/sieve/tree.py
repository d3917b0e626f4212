"""The parsed script as our own frozen values, before validation gives each command its
meaning: one `Node` per command or test, with its line, tagged and positional arguments
already turned into values (strings unquoted, numbers scaled).

sievelib's objects end at `mailroom.sieve.syntax`; from here on nothing depends on them.
"""

from __future__ import annotations

from dataclasses import dataclass

Value = str | tuple[str, ...] | int
"""A string, a string list, or a number (RFC 5228 §2.4)."""


@dataclass(frozen=True)
class Tagged:
    """One tagged argument (`:comparator "i;octet"`): the tag, lower-cased, and the value
    that follows it when the tag takes one."""

    tag: str
    value: Value | None = None


@dataclass(frozen=True)
class Node:
    name: str
    line: int
    tags: tuple[tuple[str, Tagged], ...] = ()
    """(group name, tag) for each tagged argument given, e.g. ("match-type", :contains)."""
    args: tuple[Value | None, ...] = ()
    """Positional arguments in the order the command declares them; None for an
    optional one not given."""
    tests: tuple[Node, ...] = ()
    block: tuple[Node, ...] | None = None

    def tag(self, group: str) -> Tagged | None:
        for name, tagged in self.tags:
            if name == group:
                return tagged
        return None
