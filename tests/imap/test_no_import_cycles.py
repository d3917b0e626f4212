"""No import cycles between modules of mailroom.imap and mailroom.wire (DESIGN.md: "No
import cycles, also inside a package"), counting every import: at the top, inside
functions and under TYPE_CHECKING. Read from the source with `ast`, nothing imported."""

from __future__ import annotations

import ast
from pathlib import Path

import mailroom

SOURCE = Path(mailroom.__file__).parent
CHECKED = ("mailroom.imap", "mailroom.wire")


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def imported_by(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `path` imports anywhere in the file, relative imports
    resolved; `from package import module` counts as importing that module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            # `import a.b.c` loads a, a.b and a.b.c: the nearest known one is the edge.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    names = set(known)
    return {name: imported_by(name, path, names) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def checked(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in CHECKED)


def test_imap_and_wire_modules_import_each_other_in_no_cycle() -> None:
    graph = import_graph()
    scoped = {
        name: {target for target in targets if checked(target)}
        for name, targets in graph.items()
        if checked(name)
    }
    assert cycles(scoped) == []


def test_the_cycle_finder_sees_a_cycle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_wire_imports_nothing_of_mailroom_but_config() -> None:
    graph = import_graph()
    for name, targets in graph.items():
        if name == "mailroom.wire" or name.startswith("mailroom.wire."):
            outside = {t for t in targets if not t.startswith(("mailroom.wire", "mailroom.config"))}
            assert outside == set(), name
