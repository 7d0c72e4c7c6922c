"""The shape of the code that docs/architecture.md promises and import-linter does not check:
no import cycle between modules, no import of an esimdesk module inside a function (beyond
the entry points and a few explained ones), and no template deciding by line type."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import grimp

SOURCE = Path(__file__).resolve().parent.parent / "src" / "esimdesk"
#: entry points that assemble the platform, and Django's own loading order
EXEMPT_FILES = {"apps.py", "cli.py", "settings.py"}
MAX_EXPLAINED_INNER_IMPORTS = 5


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    modules = sorted(m for m in graph.modules if ".migrations" not in m)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if ".migrations" in imported:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in modules:
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("esimdesk", cache_dir=None, exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]


def _inner_imports(path: Path) -> list[tuple[int, bool]]:
    """(line, explained) of each esimdesk import inside a function of ``path``; explained
    means a comment on the line or the line above says why."""
    text = path.read_text()
    lines = text.splitlines()
    found = []
    for function in ast.walk(ast.parse(text)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            local = isinstance(node, ast.ImportFrom) and (
                node.level > 0 or (node.module or "").startswith("esimdesk"))
            absolute = isinstance(node, ast.Import) and any(
                a.name.startswith("esimdesk") for a in node.names)
            if local or absolute:
                here, above = lines[node.lineno - 1], lines[node.lineno - 2]
                found.append((node.lineno, "#" in here or above.strip().startswith("#")))
    return sorted(set(found))


def test_imports_sit_at_the_top_of_modules() -> None:
    inner = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name in EXEMPT_FILES or "migrations" in path.parts:
            continue
        inner += [(f"{path.relative_to(SOURCE)}:{line}", explained)
                  for line, explained in _inner_imports(path)]
    assert [where for where, explained in inner if not explained] == []
    assert len(inner) <= MAX_EXPLAINED_INNER_IMPORTS, inner


def test_the_inner_import_scan_sees_them(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from esimdesk.core import clock\n\n"
                      "def g():\n    # the registry imports this module\n"
                      "    import esimdesk.orders\n")
    assert _inner_imports(module) == [(2, False), (6, True)]


def test_templates_do_not_decide_by_line_type() -> None:
    """What a line kind means is asked of its ``LineKind``, never compared in a template."""
    comparison = re.compile(r"\.type\s*==|==\s*\w+\.type\b")
    offending = [str(path.relative_to(SOURCE))
                 for path in sorted(SOURCE.rglob("templates/**/*"))
                 if path.is_file() and comparison.search(path.read_text())]
    assert offending == []
