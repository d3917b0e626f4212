"""include (RFC 6609): `include [:personal|:global] [:once] [:optional] "name"`,
`return` and `global`.

An included script is fetched through `RunContext.includes` when the run reaches the
`include` (not when the including script is compiled: the included one may change on
its own), compiled with the same limits, and run in the same run: its actions and the
implicit keep are shared, its variables are its own except those both scripts declare
`global` (§3.5). Refused at run time: a script that includes itself through any chain
(§3.2), nesting past `max_include_depth`, more than `max_included_scripts` scripts.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from mailroom.sieve.context import ScriptScope
from mailroom.sieve.control import Nothing
from mailroom.sieve.errors import SieveError
from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, TagGroup, register
from mailroom.sieve.runtime import Executable, ReturnFromInclude, Run, execute_block
from mailroom.sieve.script import Script, compile_script
from mailroom.sieve.tree import Node
from mailroom.sieve.variables import check_variable_name

_NAME = re.compile(r"[^/\x00-\x1f\x7f]{1,255}")
_STATE = "include"


@dataclass
class _IncludeState:
    compiled: dict[tuple[ScriptScope, str], Script | None]
    stack: list[tuple[ScriptScope, str]]
    done_once: set[tuple[ScriptScope, str]]


def _state(run: Run) -> _IncludeState:
    state = run.extension_state.get(_STATE)
    if not isinstance(state, _IncludeState):
        state = _IncludeState({}, [], set())
        run.extension_state[_STATE] = state
    return state


@dataclass(frozen=True)
class Include:
    line: int
    scope: ScriptScope
    name: str
    once: bool
    optional: bool

    def execute(self, run: Run) -> None:
        state = _state(run)
        key = (self.scope, self.name)
        label = f"{self.scope.value} script {self.name!r}"
        if self.once and key in state.done_once:
            return
        if key in state.stack:
            raise run.fail(f"{label} includes itself (RFC 6609 §3.2)")
        if len(state.stack) >= run.limits.max_include_depth:
            raise run.fail(f"includes nested deeper than {run.limits.max_include_depth}")
        script = self._load(run, state, key, label)
        if script is None:
            return
        state.done_once.add(key)
        saved = (run.script, run.line, run.variables, run.declared_globals, run.match_values)
        state.stack.append(key)
        run.script, run.variables, run.declared_globals = script.name, {}, script.globals
        try:
            with contextlib.suppress(ReturnFromInclude):
                execute_block(run, script.body)
        finally:
            state.stack.pop()
        run.script, run.line, run.variables, run.declared_globals, run.match_values = saved

    def _load(
        self, run: Run, state: _IncludeState, key: tuple[ScriptScope, str], label: str
    ) -> Script | None:
        if key in state.compiled:
            cached = state.compiled[key]
            if cached is None and not self.optional:
                raise run.fail(f"{label} does not exist")
            return cached
        if len(state.compiled) >= run.limits.max_included_scripts:
            raise run.fail(f"more than {run.limits.max_included_scripts} included scripts")
        source = run.context.includes.load(self.scope, self.name)
        if source is None:
            state.compiled[key] = None
            if self.optional:
                return None
            raise run.fail(f"{label} does not exist")
        prefix = "global:" if self.scope is ScriptScope.GLOBAL else ""
        try:
            script = compile_script(source, name=prefix + self.name, limits=run.limits)
        except SieveError as error:
            raise run.fail(f"{label} does not compile: {error}") from None
        state.compiled[key] = script
        return script


@dataclass(frozen=True)
class Return:
    line: int

    def execute(self, run: Run) -> None:
        raise ReturnFromInclude


def _include(node: Node, env: CompileEnv) -> Executable:
    name = node.args[0]
    assert isinstance(name, str)
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise env.fail(node.line, f'"{name}" is not a script name (RFC 6609 §3.2)')
    if env.has("variables") and "${" in name:
        raise env.fail(node.line, "an included script's name cannot use variables")
    location = node.tag("location")
    scope = ScriptScope.GLOBAL if location and location.tag == ":global" else ScriptScope.PERSONAL
    return Include(
        node.line, scope, name, node.tag("once") is not None, node.tag("optional") is not None
    )


def _global(node: Node, env: CompileEnv) -> Executable:
    env.require("variables", node.line, "global")
    names = node.args[0]
    assert isinstance(names, tuple)
    for name in names:
        check_variable_name(node, env, name)
        env.note("global", name.lower())
    return Nothing(node.line)


register(
    Spec(
        "include",
        Kind.CONTROL,
        _include,
        capability="include",
        tags=(
            TagGroup("location", (":personal", ":global")),
            TagGroup("once", (":once",)),
            TagGroup("optional", (":optional",)),
        ),
        params=(Param("name", "string"),),
    )
)
register(Spec("return", Kind.CONTROL, lambda node, env: Return(node.line), capability="include"))
register(
    Spec("global", Kind.CONTROL, _global, capability="include", params=(Param("names", "strings"),))
)
