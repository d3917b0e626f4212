"""Strings with variable references (RFC 5229 §3): parsed once when the script is
compiled, expanded at each use against the run's variables.

Without `require "variables"` every string is a constant `Template`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailroom.sieve.runtime import Run


@dataclass(frozen=True)
class Reference:
    """`${name}`, `${N}` (a match variable) or `${namespace.name}`, names lower-cased
    (RFC 5229 §3: variable names are case-insensitive)."""

    name: str
    namespace: str | None = None
    number: int | None = None


@dataclass(frozen=True)
class Template:
    parts: tuple[str | Reference, ...]

    @property
    def constant(self) -> str | None:
        """The value when the string has no reference to expand."""
        if not self.parts:
            return ""
        if len(self.parts) == 1 and isinstance(self.parts[0], str):
            return self.parts[0]
        return None

    def expand(self, run: Run) -> str:
        constant = self.constant
        if constant is not None:
            return constant
        limit = run.limits.max_expanded_string
        out: list[str] = []
        size = 0
        run.step(run.line, len(self.parts))
        for part in self.parts:
            text = part if isinstance(part, str) else lookup(run, part)
            out.append(text)
            size += len(text)
            if size > limit:
                return "".join(out)[:limit]
        return "".join(out)


def lookup(run: Run, reference: Reference) -> str:
    if reference.number is not None:
        values = run.match_values
        return values[reference.number] if reference.number < len(values) else ""
    if reference.namespace == "global" or reference.name in run.declared_globals:
        return run.global_variables.get(reference.name, "")
    return run.variables.get(reference.name, "")


def constant(text: str) -> Template:
    return Template((text,) if text else ())


# RFC 5229 §3: variable-ref = "${" [namespace] variable-name "}"
_REFERENCE = re.compile(r"\$\{((?:[A-Za-z_][A-Za-z0-9_]*\.)*)([A-Za-z_][A-Za-z0-9_]*|[0-9]+)\}")
NAMESPACES = frozenset({"global"})


class TemplateError(ValueError):
    pass


def parse_template(text: str, namespaces: frozenset[str]) -> Template:
    """Split `text` at its variable references. A reference to a namespace no required
    extension provides is an error (RFC 5229 §3); a malformed one stays text."""
    if "${" not in text:
        return constant(text)
    parts: list[str | Reference] = []
    position = 0
    for match in _REFERENCE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        prefix, name = match.group(1), match.group(2).lower()
        if name[0].isdigit():
            if prefix:
                parts.append(match.group(0))
            else:
                parts.append(Reference(name, number=int(name) if len(name) < 6 else 99999))
        elif prefix:
            namespace = prefix[:-1].lower()
            if namespace not in namespaces:
                raise TemplateError(f"unknown variable namespace '{namespace}'")
            parts.append(Reference(name, namespace=namespace))
        else:
            parts.append(Reference(name))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return Template(tuple(parts))
