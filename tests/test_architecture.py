"""The architecture as a test: no import cycle between modules, and imports inside functions
only where an app is wired (``apps.py``), in the command line, settings and migrations, or
where a comment on the line says why (at most five). The layers and the independence of
sibling apps are import-linter's contracts (``make lint``; pyproject ``[tool.importlinter]``,
drawn in docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parents[1] / "src" / "esimdesk"
WIRING = {"apps.py", "cli.py", "settings.py"}
MAX_EXPLAINED = 5


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
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
    return found


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("esimdesk", cache_dir=None)
    assert _cycles(graph) == []


def _imports_inside_functions(path: Path) -> list[tuple[int, bool]]:
    """(line, explained) of each ``esimdesk`` import inside a function of ``path``."""
    text = path.read_text()
    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom):
                module = inner.module or ""
                ours = inner.level > 0 or module.startswith("esimdesk")
            elif isinstance(inner, ast.Import):
                ours = any(alias.name.startswith("esimdesk") for alias in inner.names)
            else:
                continue
            if ours:
                line = lines[inner.lineno - 1]
                above = lines[inner.lineno - 2] if inner.lineno > 1 else ""
                found.append((inner.lineno, "#" in line or above.strip().startswith("#")))
    return found


def test_imports_inside_functions_only_where_wired_or_explained() -> None:
    unexplained, explained = [], []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or path.name in WIRING:
            continue
        for line, has_reason in _imports_inside_functions(path):
            where = f"{path.relative_to(SRC)}:{line}"
            (explained if has_reason else unexplained).append(where)
    assert unexplained == []
    assert len(explained) <= MAX_EXPLAINED, explained
