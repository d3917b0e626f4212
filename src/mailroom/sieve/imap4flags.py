"""imap4flags (RFC 5232): setflag, addflag, removeflag, the hasflag test, and the
`:flags` argument of keep and fileinto; the internal variable lives in `Run.flags`, a
named variable (with "variables") holds the flags as one space-separated string."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailroom.sieve.matching import Matcher
from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, TagGroup, register
from mailroom.sieve.runtime import Run, Test
from mailroom.sieve.templates import Template
from mailroom.sieve.test_args import MATCHING, matcher
from mailroom.sieve.tree import Node
from mailroom.sieve.variables import check_variable_name, store

FLAGS = TagGroup("flags", (":flags",), takes="strings")
_SYSTEM = {f.lower(): f for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")}
_KEYWORD = re.compile(r"[^\x00-\x20\x7f(){%*\"\\\]]+")


def normalize(strings: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """RFC 5232 §3: each string is a space-separated list of flags; duplicates go
    (case-insensitively) and what is not an IMAP flag is left out (§3.1: \\Recent too)."""
    seen: dict[str, str] = {}
    for text in strings:
        for flag in text.split():
            if flag.startswith("\\"):
                known = _SYSTEM.get(flag.lower())
                if known is None:
                    continue
                flag = known
            elif not _KEYWORD.fullmatch(flag):
                continue
            seen.setdefault(flag.lower(), flag)
    return tuple(seen.values())


def flags_argument(node: Node, env: CompileEnv) -> tuple[Template, ...] | None:
    """keep's and fileinto's `:flags` (RFC 5232 §5), None when not given."""
    given = node.tag("flags")
    if given is None:
        return None
    env.require("imap4flags", node.line, ":flags")
    assert isinstance(given.value, tuple)
    return env.strings(node, given.value)


def flags_for_action(run: Run, flags: tuple[Template, ...] | None) -> tuple[str, ...]:
    """The flags an action stores with: its :flags, else the internal variable (§5)."""
    if flags is None:
        return run.flags
    return normalize([flag.expand(run) for flag in flags])


def _current(run: Run, variable: Template | None) -> tuple[str, ...]:
    if variable is None:
        return run.flags
    return normalize([run.variables.get(variable.expand(run).lower(), "")])


def _assign(run: Run, variable: Template | None, flags: tuple[str, ...]) -> None:
    if variable is None:
        run.flags = flags
    else:
        store(run, variable.expand(run), " ".join(flags))


@dataclass(frozen=True)
class FlagAction:
    line: int
    mode: str
    """"set", "add" or "remove"."""
    variable: Template | None
    flags: tuple[Template, ...]

    def execute(self, run: Run) -> None:
        given = normalize([flag.expand(run) for flag in self.flags])
        if self.mode == "set":
            result = given
        elif self.mode == "add":
            result = normalize([*_current(run, self.variable), *given])
        else:
            drop = {flag.lower() for flag in given}
            result = tuple(f for f in _current(run, self.variable) if f.lower() not in drop)
        _assign(run, self.variable, result)


@dataclass(frozen=True)
class HasFlag:
    line: int
    matcher: Matcher
    variables: tuple[Template, ...] | None
    keys: tuple[Template, ...]

    def evaluate(self, run: Run) -> bool:
        values: list[str] = []
        if self.variables is None:
            values.extend(run.flags)
        else:
            for variable in self.variables:
                values.extend(_current(run, variable))
        return self.matcher.match(run, values, self.keys)


def _variable(node: Node, env: CompileEnv) -> Template | None:
    name = node.args[0]
    if name is None:
        return None
    env.require("variables", node.line, f"{node.name} with a variable name")
    assert isinstance(name, str)
    check_variable_name(node, env, name)
    return env.string(node, name)


def _flag_action(mode: str) -> Spec:
    def compile_it(node: Node, env: CompileEnv) -> FlagAction:
        flags = node.args[1]
        assert isinstance(flags, tuple)
        return FlagAction(node.line, mode, _variable(node, env), env.strings(node, flags))

    return Spec(
        f"{mode}flag",
        Kind.ACTION,
        compile_it,
        capability="imap4flags",
        params=(Param("variable-name", "string", optional=True), Param("flags", "strings")),
    )


def _hasflag(node: Node, env: CompileEnv) -> Test:
    variables = node.args[0]
    keys = node.args[1]
    assert isinstance(keys, tuple)
    compiled_variables = None
    if variables is not None:
        env.require("variables", node.line, "hasflag with variable names")
        assert isinstance(variables, tuple)
        for name in variables:
            check_variable_name(node, env, name)
        compiled_variables = env.strings(node, variables)
    return HasFlag(node.line, matcher(node, env), compiled_variables, env.strings(node, keys))


for _mode in ("set", "add", "remove"):
    register(_flag_action(_mode))
register(
    Spec(
        "hasflag",
        Kind.TEST,
        _hasflag,
        capability="imap4flags",
        tags=MATCHING,
        params=(Param("variable-list", "strings", optional=True), Param("flags", "strings")),
    )
)
