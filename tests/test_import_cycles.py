"""No import cycles between Mailroom's modules, counting every import: those inside
functions and under `TYPE_CHECKING` too, which Python tolerates at run time but which
still tie two modules into one room (DESIGN.md, "No import cycles, also inside a package")."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import mailroom

SOURCE = Path(mailroom.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(text: str, package: str, modules: set[str]) -> Iterator[str]:
    """Every module of ours that a module of `package` imports anywhere in its `text`,
    relative imports resolved; `from package import name` counts as importing the module
    `name` when there is one, else the package."""
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                child = f"{target}.{alias.name}"
                if child in modules:
                    yield child
                elif target in modules:
                    yield target


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in SOURCE.rglob("*.py")}
    modules = set(paths)
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        text = path.read_text(encoding="utf-8")
        graph[name] = set(imported_modules(text, package, modules)) - {name}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_finder_sees_a_cycle_through_an_import_inside_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_imports_inside_functions_and_under_type_checking_count() -> None:
    text = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .session import Session\n"
        "def handler():\n    from mailroom.p import grammar\n    import mailroom.q\n"
    )
    modules = {"mailroom.p", "mailroom.p.session", "mailroom.p.grammar", "mailroom.q"}
    found = set(imported_modules(text, "mailroom.p", modules))
    assert found == {"mailroom.p.session", "mailroom.p.grammar", "mailroom.q"}


def test_the_graph_covers_every_module_of_mailroom() -> None:
    graph = import_graph()
    assert len(graph) == len(list(SOURCE.rglob("*.py")))
    assert "mailroom.config" in graph["mailroom.auth.authenticator"]


def test_no_module_of_mailroom_is_in_an_import_cycle() -> None:
    cycles = strongly_connected(import_graph())
    assert cycles == [], "modules that import each other: " + "; ".join(
        " <-> ".join(cycle) for cycle in cycles
    )
