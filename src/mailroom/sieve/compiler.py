"""Validation: from `Node`s to the compiled commands the interpreter runs, with every
check RFC 5228 §3.2 and the extensions ask for at compile time, each failure a
`ScriptFault` naming the line (the caller adds the script's name).

The order of a script (RFC 5228 §3.2: `require` before anything else), the capability
each command, tag and comparator needs, and the shape of `if`/`elsif`/`else` are checked
here; a command's own arguments by the compile function its extension registered.
"""

from __future__ import annotations

from mailroom.sieve import registry
from mailroom.sieve.control import Branch, IfChain
from mailroom.sieve.errors import ScriptFault
from mailroom.sieve.limits import SieveLimits
from mailroom.sieve.registry import Kind
from mailroom.sieve.runtime import Executable, Test
from mailroom.sieve.templates import Template, TemplateError, constant, parse_template
from mailroom.sieve.tree import Node


class Compiler:
    def __init__(self, script: str, limits: SieveLimits, capabilities: frozenset[str]) -> None:
        self._script = script
        self._limits = limits
        self.capabilities = capabilities
        self._notes: dict[str, list[object]] = {}
        namespaces = {"global"} if "include" in capabilities else set()
        self._namespaces = frozenset(namespaces)

    @property
    def script(self) -> str:
        return self._script

    @property
    def limits(self) -> SieveLimits:
        return self._limits

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def require(self, capability: str, line: int, what: str) -> None:
        if capability not in self.capabilities:
            raise ScriptFault(line, f'{what} needs require "{capability}"')

    def fail(self, line: int, message: str) -> Exception:
        return ScriptFault(line, message)

    def note(self, key: str, value: object) -> None:
        self._notes.setdefault(key, []).append(value)

    def noted(self, key: str) -> list[object]:
        return self._notes.get(key, [])

    def string(self, node: Node, value: str) -> Template:
        if "variables" not in self.capabilities:
            return constant(value)
        try:
            return parse_template(value, self._namespaces)
        except TemplateError as error:
            raise ScriptFault(node.line, str(error)) from None

    def strings(self, node: Node, values: tuple[str, ...]) -> tuple[Template, ...]:
        return tuple(self.string(node, value) for value in values)

    def script_body(self, nodes: tuple[Node, ...]) -> tuple[Executable, ...]:
        seen_other = False
        for node in nodes:
            if node.name == "require":
                if seen_other:
                    # RFC 5228 §3.2: require only at the start of a script.
                    raise ScriptFault(node.line, "require must come before any other command")
            else:
                seen_other = True
        return self.block(nodes)

    def block(self, nodes: tuple[Node, ...]) -> tuple[Executable, ...]:
        compiled: list[Executable] = []
        for index, node in enumerate(nodes):
            if node.name in ("elsif", "else"):
                previous = nodes[index - 1].name if index else ""
                if previous not in ("if", "elsif"):
                    raise ScriptFault(node.line, f"{node.name} must follow if or elsif")
            compiled.append(self.command(node))
        return _chain_branches(tuple(compiled))

    def command(self, node: Node) -> Executable:
        spec = self._spec(node)
        if spec.kind is Kind.TEST:
            raise ScriptFault(node.line, f"{node.name} is a test, not a command")
        result = spec.compile(node, self)
        return result  # type: ignore[return-value]

    def test(self, node: Node) -> Test:
        spec = self._spec(node)
        if spec.kind is not Kind.TEST:
            raise ScriptFault(node.line, f"{node.name} is a command, not a test")
        return spec.compile(node, self)  # type: ignore[return-value]

    def _spec(self, node: Node) -> registry.Spec:
        spec = registry.spec(node.name)
        if spec is None:
            raise ScriptFault(node.line, f"unknown command '{node.name}'")
        if spec.capability is not None:
            self.require(spec.capability, node.line, node.name)
        return spec


def _chain_branches(compiled: tuple[Executable, ...]) -> tuple[Executable, ...]:
    """Join each `if` with the `elsif`s and `else` that follow it (RFC 5228 §3.1)."""
    out: list[Executable] = []
    for item in compiled:
        if isinstance(item, Branch) and item.follows and out and isinstance(out[-1], IfChain):
            out[-1] = out[-1].extended(item)
        elif isinstance(item, Branch):
            out.append(IfChain((item,)))
        else:
            out.append(item)
    return tuple(out)
