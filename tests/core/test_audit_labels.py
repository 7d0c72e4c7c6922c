"""Every action code the project records has a name for people, in English and Chinese, and
actors read as names: the source is scanned (AST) for the codes audit rows are written with,
so a new ``audit.record(action="...")`` without a name in ``core.audit_labels`` fails here."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

from django.utils import translation

from esimdesk.core import audit_text
from esimdesk.core.audit_labels import ACTIONS, ACTORS, REASON_PATTERNS, REASONS
from esimdesk.core.models import AuditEntry

SRC = Path(__file__).resolve().parents[2] / "src" / "esimdesk"
#: Calls that write an audit row, with the code as their ``action`` keyword.
WRITERS = {"record", "record_by_user", "AuditEntry"}
CODE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
#: Functions that pass a code they were given straight on (their callers name it).
PASS_THROUGH = {("core/audit.py", "record_by_user"), ("sharedplans/members.py", "_detach")}


def _name(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def _values(node: ast.expr) -> list[str] | None:
    """The codes an expression can be: a literal, either side of ``a if c else b``, an
    f-string's parts (a choice of literals, or ``*`` for anything); None if unknown."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _values(node.body), _values(node.orelse)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.JoinedStr):
        parts: list[list[str]] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                parts.append(_values(part.value) or ["*"])
            else:
                parts.append(_values(part) or [])
        return ["".join(choice) for choice in itertools.product(*parts)]
    return None


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    """Every call in ``tree`` with the name of the function it is in ("" at module level)."""
    calls: list[tuple[str, ast.Call]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Call):
            calls.append((function, node))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")
    return calls


def recorded_codes() -> tuple[dict[str, str], list[str]]:
    """(code → where it is recorded, expressions the scan cannot read)."""
    found: dict[str, str] = {}
    unread: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(SRC).as_posix()
        for function, call in _calls(ast.parse(path.read_text(), filename=str(path))):
            for keyword in call.keywords:
                if keyword.arg != "action":
                    continue
                values = _values(keyword.value)
                where = f"{relative}:{call.lineno}"
                if values is None:
                    if _name(call) in WRITERS and (relative, function) not in PASS_THROUGH:
                        unread.append(where)
                    continue
                # A literal code handed to any call (``_detach(action="group.leave")``) ends
                # up in a row; a writer's code is one whatever it looks like.
                for value in values:
                    if _name(call) in WRITERS or CODE.match(value):
                        found.setdefault(value, where)
    return found, unread


def test_every_recorded_action_has_a_name() -> None:
    found, unread = recorded_codes()
    assert len(found) > 90, "the scan found too few codes: is it still reading the source?"
    assert not unread, f"action codes the scan cannot read (use literals): {unread}"
    named = set(ACTIONS)
    missing = []
    for code, where in sorted(found.items()):
        pattern = re.compile(re.escape(code).replace(r"\*", ".+") + "$")
        if not any(pattern.match(name) for name in named):
            missing.append(f"{code} ({where})")
    assert not missing, f"name these in core/audit_labels.py ACTIONS: {missing}"


#: Calls whose ``reason`` goes elsewhere than an audit row (a notification, a signal).
NOT_AUDITED = {"send"}
#: Functions that take the reason as their second positional argument.
POSITIONAL = {"_pay_back"}
#: What a detail of a reason may be (``f"order {number}"``): an order number, a refund id,
#: a number, a code, a reason of its own, a supplier action's outcome.
DETAILS = ("ED-7K2M9Q4P", "ref_AbC-123", "7", "not_paid", "data used up", "failed", "refused")


def written_reasons() -> dict[str, str]:
    """Literal reasons handed to any call in the source (a writer, or a service that records
    them: ``start(reason="activation deadline reached")``) → where."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(SRC).as_posix()
        for _function, call in _calls(ast.parse(path.read_text(), filename=str(path))):
            if _name(call) in NOT_AUDITED:
                continue
            given = [keyword.value for keyword in call.keywords if keyword.arg == "reason"]
            if _name(call) in POSITIONAL and len(call.args) > 1:
                given.append(call.args[1])
            for node in given:
                for value in _values(node) or []:
                    if value:
                        found.setdefault(value, f"{relative}:{call.lineno}")
    return found


def named(reason: str) -> bool:
    """Whether ``reason`` (``*`` for a detail filled in) has a name for people."""
    if "*" not in reason:
        return reason in REASONS
    for detail in DETAILS:
        text = reason.replace("*", detail)
        if text in REASONS or any(p.fullmatch(text) for p, _name in REASON_PATTERNS):
            return True
    return False


def test_every_reason_esimdesk_writes_is_read_in_the_readers_language() -> None:
    found = written_reasons()
    assert len(found) > 25, "the scan found too few reasons: is it still reading the source?"
    missing = [f"{reason} ({where})" for reason, where in sorted(found.items())
               if not named(reason)]
    assert not missing, f"name these in core/audit_labels.py REASONS: {missing}"


def test_a_written_reason_is_translated_a_typed_one_kept() -> None:
    with translation.override("zh-hans"):
        assert audit_text.reason_text("activation deadline reached") == "已到激活期限"
        assert audit_text.reason_text("demo data") == "演示数据"
        assert audit_text.reason_text("customer called, goodwill") == (
            "customer called, goodwill")
        assert audit_text.reason_text("order ED-7K2M9Q4P") == "订单 ED-7K2M9Q4P"
        unfunded = audit_text.reason_text(
            "the plan ended before the top-up could be applied: no payment left to pay this "
            "back; staff must settle it")
        assert unfunded == "套餐在加油包生效前已结束：没有可退回此款项的付款，须由员工处理"
        assert audit_text.reason_text("order for the team") == "order for the team"
    with translation.override("en"):
        assert audit_text.reason_text("demo data") == "demo data"
        assert audit_text.reason_text("the data of period 3 ran out") == (
            "the data of period 3 ran out")


def test_the_scan_reads_choices_and_fstrings() -> None:
    tree = ast.parse('f"admin.{\'add\' if new else \'change\'}"', mode="eval")
    assert _values(tree.body) == ["admin.add", "admin.change"]
    tree = ast.parse('f"esim.{action}_upstream"', mode="eval")
    assert _values(tree.body) == ["esim.*_upstream"]


def test_every_name_is_translated() -> None:
    def english(name: object) -> bool:  # names that stay in Latin letters taken out
        return bool(re.search("[A-Za-z]{3,}", re.sub("eSIM|ICCID|API", "", str(name))))

    with translation.override("zh-hans"):
        untranslated = [code for code, name in ACTIONS.items() if english(name)]
        untranslated += [actor for actor, name in ACTORS.items() if english(name)]
        untranslated += [reason for reason, name in REASONS.items() if english(name)]
        untranslated += [pattern.pattern for pattern, name in REASON_PATTERNS
                         if english(re.sub(r"%\(\w+\)s", "", str(name)))]
    assert not untranslated, f"no Chinese name (src/esimdesk/locale): {untranslated}"


def test_actions_and_actors_read_as_names() -> None:
    paid = AuditEntry(action="order.paid", actor_type="task", actor="fulfilment")
    customer = AuditEntry(action="esim.label", actor_type="customer",
                          actor="12:ana@example.com")
    old = AuditEntry(action="legacy.code", actor_type="provider", actor="stripe")
    with translation.override("en"):
        assert audit_text.action_label(paid.action) == "Order paid"
        assert audit_text.who(paid) == "Task: Order fulfilment"
        assert audit_text.who(customer) == "Customer: ana@example.com"
        assert audit_text.action_label(old.action) == "legacy.code"
        assert audit_text.who(old) == "Provider: stripe"
        assert audit_text.who(AuditEntry(actor_type="system")) == "System"
        assert audit_text.action_choices(["order.paid", "esim.label"]) == [
            ("esim.label", "eSIM renamed"), ("order.paid", "Order paid")]
