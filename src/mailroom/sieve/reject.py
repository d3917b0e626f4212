"""reject and ereject (RFC 5429): refuse the message with a reason. Both cancel implicit
keep and cannot be combined with keep, fileinto, redirect or vacation, nor with each
other (RFC 5429 §2.2; checked in `Run.add`)."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.sieve.actions import Reject
from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, register
from mailroom.sieve.runtime import Executable, Run
from mailroom.sieve.templates import Template
from mailroom.sieve.tree import Node


@dataclass(frozen=True)
class RejectAction:
    line: int
    reason: Template
    extended: bool

    def execute(self, run: Run) -> None:
        run.add(Reject(self.reason.expand(run), self.extended))


def _compile(node: Node, env: CompileEnv) -> Executable:
    reason = node.args[0]
    assert isinstance(reason, str)
    return RejectAction(node.line, env.string(node, reason), node.name == "ereject")


for _name in ("reject", "ereject"):
    register(
        Spec(_name, Kind.ACTION, _compile, capability=_name, params=(Param("reason", "string"),))
    )
