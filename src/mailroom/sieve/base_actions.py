"""RFC 5228 §4: keep, discard and redirect (with copy's `:copy`, RFC 3894, and
imap4flags' `:flags` on keep, RFC 5232 §5)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailroom.sieve.actions import Discard, Keep, Redirect
from mailroom.sieve.imap4flags import FLAGS, flags_argument, flags_for_action
from mailroom.sieve.registry import (
    CompileEnv,
    Kind,
    Param,
    Spec,
    TagGroup,
    register,
    register_capability,
)
from mailroom.sieve.runtime import Executable, Run
from mailroom.sieve.templates import Template
from mailroom.sieve.tree import Node

COPY = TagGroup("copy", (":copy",))

# RFC 5322 §3.4.1 addr-spec: dot-atom or quoted local part, dot-atom or literal domain.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_LOCAL = rf'(?:{_ATEXT}(?:\.{_ATEXT})*|"(?:[^"\\\r\n]|\\.)*")'
_DOMAIN = rf"(?:{_ATEXT}(?:\.{_ATEXT})*|\[[^\[\]\\\r\n]*\])"
_ADDR_SPEC = re.compile(rf"{_LOCAL}@{_DOMAIN}")


def valid_address(text: str) -> str | None:
    """The addr-spec of a redirect target (RFC 5228 §4.2), or None if it is not one.
    `<addr>` is accepted and unwrapped."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    return text if len(text) <= 998 and _ADDR_SPEC.fullmatch(text) else None


def copy_argument(node: Node, env: CompileEnv) -> bool:
    if node.tag("copy") is None:
        return False
    env.require("copy", node.line, ":copy")
    return True


@dataclass(frozen=True)
class KeepAction:
    line: int
    flags: tuple[Template, ...] | None

    def execute(self, run: Run) -> None:
        run.add(Keep(flags_for_action(run, self.flags)))


@dataclass(frozen=True)
class DiscardAction:
    line: int

    def execute(self, run: Run) -> None:
        run.add(Discard())


@dataclass(frozen=True)
class RedirectAction:
    line: int
    address: Template
    copy: bool

    def execute(self, run: Run) -> None:
        text = self.address.expand(run)
        address = valid_address(text)
        if address is None:
            raise run.fail(f'redirect to "{text}", which is not an address')
        run.add(Redirect(address, self.copy))


def _keep(node: Node, env: CompileEnv) -> Executable:
    return KeepAction(node.line, flags_argument(node, env))


def _redirect(node: Node, env: CompileEnv) -> Executable:
    raw = node.args[0]
    assert isinstance(raw, str)
    address = env.string(node, raw)
    if address.constant is not None and valid_address(address.constant) is None:
        raise env.fail(node.line, f'redirect to "{raw}", which is not an address')
    return RedirectAction(node.line, address, copy_argument(node, env))


register(Spec("keep", Kind.ACTION, _keep, tags=(FLAGS,)))
register(Spec("discard", Kind.ACTION, lambda node, env: DiscardAction(node.line)))
register(
    Spec("redirect", Kind.ACTION, _redirect, tags=(COPY,), params=(Param("address", "string"),))
)
register_capability("copy")
