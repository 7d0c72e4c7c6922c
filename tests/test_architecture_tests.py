"""The tests build their own world: no test starts with a catalog already in the database,
none loads the demo data (``make run``'s) but the demo's own tests, and none names a plan or
top-up the demo makes. Data a test needs comes from ``tests.builders``."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from esimdesk.catalog.demo import load_catalog
from esimdesk.catalog.models import (
    Country,
    ExchangeRate,
    Plan,
    Region,
    SupplierBundle,
    TopUpProduct,
)
from esimdesk.sharedplans.demo import load_group_plans

TESTS = Path(__file__).resolve().parent
#: the tests of the demo data itself, which load it on purpose
DEMO_TESTS = {TESTS / "catalog" / "test_demo_catalog.py"}
#: the test of the demo travellers (``esimdesk.demo``: what README promises about them)
DEMO_DATA_TESTS = {TESTS / "test_demo_data.py"}
EXEMPT = DEMO_TESTS | DEMO_DATA_TESTS | {Path(__file__).resolve()}
DEMO_MODULES = ("esimdesk.demo", "esimdesk.catalog.demo", "esimdesk.sharedplans.demo",
                "esimdesk.support.demo")
#: the demo's price points, which the builders price with too: arithmetic, not data
PRICE_HELPERS = {"converted", "RATE_HUNDREDTHS"}


def _test_files() -> Iterator[Path]:
    for path in sorted(TESTS.rglob("*.py")):
        if path.resolve() not in EXEMPT:
            yield path


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every string in the module, the literal parts of f-strings included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _demo_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Imports of the demo loaders (``from esimdesk.catalog.demo import load_catalog``,
    ``import esimdesk.demo``), the price helpers left out."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in DEMO_MODULES:
            for alias in node.names:
                if alias.name not in PRICE_HELPERS:
                    yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module in (
                "esimdesk", "esimdesk.catalog", "esimdesk.sharedplans", "esimdesk.support"):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in DEMO_MODULES:
                    yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in DEMO_MODULES:
                    yield node.lineno, alias.name


def _demo_codes() -> set[str]:
    """The codes of every plan and top-up the demo makes (it is loaded here to ask)."""
    load_catalog()
    load_group_plans()
    return set(Plan.objects.values_list("code", flat=True)) | set(
        TopUpProduct.objects.values_list("code", flat=True))


def _naming(codes: set[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def _findings(path: Path, naming: re.Pattern[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(TESTS.parent)
    found = [f"{where}:{line}: imports {name}" for line, name in _demo_imports(tree)]
    found += [f"{where}:{line}: names {match.group(0)!r}" for line, text in _strings(tree)
              for match in naming.finditer(text)]
    return found


@pytest.mark.django_db
def test_a_test_starts_with_no_catalog() -> None:
    """Nothing loads a catalog before the tests (a session fixture, an autouse one): each
    test's database holds only what migrations made."""
    assert [model.__name__ for model in (Region, Country, Plan, TopUpProduct, SupplierBundle,
                                         ExchangeRate) if model.objects.exists()] == []


@pytest.mark.django_db
def test_no_test_loads_the_demo_or_names_its_plans() -> None:
    codes = _demo_codes()
    assert {"jp-1gb-day", "jp-10gb-month", "topup-1gb", "global-50gb-year",
            "family-europe-5gb-month"} <= codes and len(codes) > 170
    naming = _naming(codes)
    # The scan sees what it looks for: the demo's own tests load it and name its plans.
    for path in DEMO_TESTS:
        found = _findings(path, naming)
        assert any("imports esimdesk.catalog.demo.load_catalog" in f for f in found), path
        assert any("names 'jp-10gb-month'" in f for f in found), path
    assert _findings_in_text("x = 'th-1gb-day'\nurl = f'/plans/kr-1gb-day/?c={1}'\n"
                             "from esimdesk import demo\n", naming) == [
        "imports esimdesk.demo", "names 'th-1gb-day'", "names 'kr-1gb-day'"]
    assert _findings_in_text("x = 'jp-20gb-month'\ny = 'more-1gb'\n"
                             "from esimdesk.catalog.demo import converted\n", naming) == []
    findings = [finding for path in _test_files() for finding in _findings(path, naming)]
    assert findings == [], ("tests build their plans with tests.builders instead:\n"
                            + "\n".join(findings))


def _findings_in_text(source: str, naming: re.Pattern[str]) -> list[str]:
    tree: Any = ast.parse(source)
    return [f"imports {name}" for _line, name in _demo_imports(tree)] + [
        f"names {match.group(0)!r}" for _line, text in _strings(tree)
        for match in naming.finditer(text)]
