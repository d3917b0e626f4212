"""RFC 5228 §3: the control commands `require`, `if`/`elsif`/`else` and `stop`."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, register
from mailroom.sieve.runtime import Executable, Run, StopScript, Test, execute_block
from mailroom.sieve.tree import Node


@dataclass(frozen=True)
class Nothing:
    """A command with no effect when run (`require`: its work was done at compile)."""

    line: int

    def execute(self, run: Run) -> None:
        return None


@dataclass(frozen=True)
class Branch:
    """One arm of an if chain; `test` None for `else`; `follows` for elsif/else."""

    line: int
    test: Test | None
    block: tuple[Executable, ...]
    follows: bool

    def execute(self, run: Run) -> None:  # only ever run inside an IfChain
        raise AssertionError("a branch outside an if chain")


@dataclass(frozen=True)
class IfChain:
    branches: tuple[Branch, ...]

    @property
    def line(self) -> int:
        return self.branches[0].line

    def extended(self, branch: Branch) -> IfChain:
        return IfChain((*self.branches, branch))

    def execute(self, run: Run) -> None:
        for branch in self.branches:
            if branch.test is not None:
                run.step(branch.line)
                if not branch.test.evaluate(run):
                    continue
            execute_block(run, branch.block)
            return


@dataclass(frozen=True)
class Stop:
    line: int

    def execute(self, run: Run) -> None:
        raise StopScript


def _branch(node: Node, env: CompileEnv) -> Executable:
    test = env.test(node.tests[0]) if node.tests else None
    return Branch(node.line, test, env.block(node.block or ()), node.name != "if")


register(
    Spec(
        "require",
        Kind.CONTROL,
        lambda node, env: Nothing(node.line),
        params=(Param("capabilities", "strings"),),
    )
)
register(Spec("if", Kind.CONTROL, _branch, grammar="if"))
register(Spec("elsif", Kind.CONTROL, _branch, grammar="elsif"))
register(Spec("else", Kind.CONTROL, _branch, grammar="else"))
register(Spec("stop", Kind.ACTION, lambda node, env: Stop(node.line)))
