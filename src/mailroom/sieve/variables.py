"""variables (RFC 5229): the `set` action with its modifiers, the `string` test, and the
rules for variable names and sizes. Strings with `${...}` are parsed by `templates`;
match variables `${0}`..`${9}` are set by `matching`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailroom.sieve.matching import Matcher
from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, TagGroup, register
from mailroom.sieve.runtime import Run, Test
from mailroom.sieve.templates import Template
from mailroom.sieve.test_args import MATCHING, matcher
from mailroom.sieve.tree import Node

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WILDCARD = re.compile(r"([*?\\])")
_REGEX_SPECIAL = re.compile(r"([\\^$.\[\]|()?*+{}])")

# RFC 5229 §4.1: modifier precedence, highest applied first.
_MODIFIERS = (
    TagGroup("case", (":lower", ":upper")),
    TagGroup("first-case", (":lowerfirst", ":upperfirst")),
    TagGroup("quote", (":quotewildcard", ":quoteregex")),
    TagGroup("length", (":length",)),
)


def check_variable_name(node: Node, env: CompileEnv, name: str) -> None:
    """RFC 5229 §3: an identifier, optionally in a namespace a required extension gives
    (`global.`, RFC 6609 §3.5)."""
    prefix, dot, rest = name.rpartition(".")
    if dot:
        if prefix.lower() != "global" or not env.has("include"):
            raise env.fail(node.line, f'"{name}": unknown variable namespace')
        name = rest
    if not _IDENTIFIER.fullmatch(name):
        raise env.fail(node.line, f'"{name}" is not a valid variable name')


def store(run: Run, name: str, value: str) -> None:
    """Set a variable, its value cut to `max_variable_size` characters (as Pigeonhole
    does), at most `max_variables` of them per scope."""
    value = value[: run.limits.max_variable_size]
    key = name.lower()
    scope = run.variables
    if key.startswith("global."):
        key, scope = key[len("global.") :], run.global_variables
    elif key in run.declared_globals:
        scope = run.global_variables
    if key not in scope and len(scope) >= run.limits.max_variables:
        raise run.fail(f"more than {run.limits.max_variables} variables")
    scope[key] = value


@dataclass(frozen=True)
class SetAction:
    line: int
    name: str
    value: Template
    modifiers: tuple[str, ...]

    def execute(self, run: Run) -> None:
        value = self.value.expand(run)
        for modifier in self.modifiers:
            if modifier == ":lower":
                value = value.lower()
            elif modifier == ":upper":
                value = value.upper()
            elif modifier == ":lowerfirst":
                value = value[:1].lower() + value[1:]
            elif modifier == ":upperfirst":
                value = value[:1].upper() + value[1:]
            elif modifier == ":quotewildcard":
                value = _WILDCARD.sub(r"\\\1", value)
            elif modifier == ":quoteregex":
                value = _REGEX_SPECIAL.sub(r"\\\1", value)
            elif modifier == ":length":
                value = str(len(value))
        store(run, self.name, value)


@dataclass(frozen=True)
class StringTest:
    line: int
    matcher: Matcher
    sources: tuple[Template, ...]
    keys: tuple[Template, ...]

    def evaluate(self, run: Run) -> bool:
        values = [source.expand(run) for source in self.sources]
        if self.matcher.kind == "count":
            values = [value for value in values if value]  # RFC 5229 §5
        return self.matcher.match(run, values, self.keys)


def _set(node: Node, env: CompileEnv) -> SetAction:
    name, value = node.args
    assert isinstance(name, str) and isinstance(value, str)
    check_variable_name(node, env, name)
    modifiers: list[str] = []
    for group in _MODIFIERS:
        tagged = node.tag(group.name)
        if tagged is not None:
            if tagged.tag == ":quoteregex":
                env.require("regex", node.line, ":quoteregex")
            modifiers.append(tagged.tag)
    return SetAction(node.line, name, env.string(node, value), tuple(modifiers))


def _string(node: Node, env: CompileEnv) -> Test:
    sources, keys = node.args
    assert isinstance(sources, tuple) and isinstance(keys, tuple)
    return StringTest(
        node.line, matcher(node, env), env.strings(node, sources), env.strings(node, keys)
    )


register(
    Spec(
        "set",
        Kind.ACTION,
        _set,
        capability="variables",
        tags=_MODIFIERS,
        params=(Param("name", "string"), Param("value", "string")),
    )
)
register(
    Spec(
        "string",
        Kind.TEST,
        _string,
        capability="variables",
        tags=MATCHING,
        params=(Param("source", "strings"), Param("key-list", "strings")),
    )
)
