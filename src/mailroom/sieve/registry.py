"""The registry of Sieve commands, tests and capabilities: an extension is one module
that calls `register` for each command or test it adds (its syntax, the capability a
script must `require`, and the function that turns a parsed `Node` into something the
interpreter runs) and `register_capability` for what it adds without a command of its
own (a comparator, a match type, a tag).

`mailroom.sieve.syntax` builds sievelib's grammar from these specs; `mailroom.sieve.
compiler` calls `compile` with a `CompileEnv`. Nothing here knows a particular command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Literal, Protocol

from mailroom.sieve.limits import SieveLimits
from mailroom.sieve.runtime import Executable, Test
from mailroom.sieve.templates import Template
from mailroom.sieve.tree import Node

ArgType = Literal["string", "strings", "number"]


class Kind(Enum):
    ACTION = "action"
    CONTROL = "control"
    TEST = "test"


@dataclass(frozen=True)
class TagGroup:
    """Tags of which a command takes at most one (RFC 5228 §2.6.2), such as the match
    types; `takes` is the type of the value that follows those in `takes_for` (all of
    them when None)."""

    name: str
    tags: tuple[str, ...]
    takes: ArgType | None = None
    takes_for: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Param:
    """A positional argument. Optional ones may only come before the required ones
    (imap4flags' variable name), which is how RFC extensions use them."""

    name: str
    type: ArgType
    optional: bool = False


class CompileEnv(Protocol):
    """What a command's compile function may ask while validating (the compiler)."""

    @property
    def script(self) -> str: ...
    @property
    def limits(self) -> SieveLimits: ...
    def has(self, capability: str) -> bool: ...
    def require(self, capability: str, line: int, what: str) -> None: ...
    def fail(self, line: int, message: str) -> Exception: ...
    def string(self, node: Node, value: str) -> Template: ...
    def strings(self, node: Node, values: tuple[str, ...]) -> tuple[Template, ...]: ...
    def test(self, node: Node) -> Test: ...
    def block(self, nodes: tuple[Node, ...]) -> tuple[Executable, ...]: ...
    def note(self, key: str, value: object) -> None: ...
    def noted(self, key: str) -> list[object]: ...


Compile = Callable[[Node, CompileEnv], Executable | Test]


@dataclass(frozen=True)
class Spec:
    name: str
    kind: Kind
    compile: Compile
    capability: str | None = None
    """What `require` must name before the command can be used; None for the base."""
    tags: tuple[TagGroup, ...] = ()
    params: tuple[Param, ...] = ()
    grammar: str | None = None
    """The sievelib command whose parsing this one shares when it has a block or tests
    as arguments (`if`, `elsif`, `else`, `not`, `allof`, `anyof`)."""


_specs: dict[str, Spec] = {}
_capabilities: dict[str, None] = {}
_version = [0]


def register(spec: Spec) -> None:
    """Add (or replace) a command or test; its capability is announced too."""
    _specs[spec.name.lower()] = spec
    if spec.capability is not None:
        _capabilities[spec.capability] = None
    _version[0] += 1


def register_capability(*names: str) -> None:
    """Announce capabilities that have no command of their own (RFC 5228 §6)."""
    for name in names:
        _capabilities[name] = None
    _version[0] += 1


def add_tags(command: str, group: TagGroup) -> None:
    """Give an existing command a further tag group (e.g. `:index` for `header`)."""
    spec = _specs[command]
    _specs[command] = replace(spec, tags=(*spec.tags, group))
    _version[0] += 1


def spec(name: str) -> Spec | None:
    return _specs.get(name.lower())


def specs() -> Iterable[Spec]:
    return tuple(_specs.values())


def capabilities() -> tuple[str, ...]:
    return tuple(sorted(_capabilities))


def version() -> int:
    """Changes whenever something is registered (the grammar is rebuilt then)."""
    return _version[0]
