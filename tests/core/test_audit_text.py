"""Audit rows read as sentences: the fields that changed, before and after, by their labels,
in the reader's language."""

from __future__ import annotations

import pytest
from django.utils import translation

from esimdesk.core.audit_text import sentences
from esimdesk.core.models import AuditEntry
from esimdesk.core.money import Money

pytestmark = pytest.mark.django_db


def entry(object_type: str, before: object, after: object) -> AuditEntry:
    return AuditEntry(action="x", object_type=object_type, object_id="1", actor_type="system",
                      before=before, after=after)


def test_a_changed_status_reads_with_its_labels_in_both_languages() -> None:
    row = entry("order", {"status": "paid"}, {"status": "fulfilled"})
    with translation.override("en"):
        assert sentences(row) == ["Status changed from Paid, being prepared to Completed"]
    with translation.override("zh-hans"):
        [text] = sentences(row)
        assert "Status" not in text and "paid" not in text and "Completed" not in text


def test_only_what_changed_what_was_set_and_what_was_cleared() -> None:
    row = entry("esim", {"status": "ready", "upstream": "simulator", "note": "a"},
                {"status": "in_use", "upstream": "simulator", "is_active": True})
    with translation.override("en"):
        # The supplier did not change: left out.
        assert sentences(row) == ["Status changed from Ready to install to In use",
                                  "Note cleared (was a)", "Active set to yes"]
        created = entry("period", None, {"starts_at": "2026-11-18T07:35:29+00:00",
                                         "plan": "day-pass-1"})
        assert sentences(created) == ["Starts set to 11/18/2026 7:35 a.m.",
                                      "Plan set to day-pass-1"]
        assert sentences(entry("user", {"language": "en"}, {"language": "en"})) == []
        assert sentences(entry("thing", "old", "new")) == ["Value changed from old to new"]


def test_amounts_read_as_money_in_the_rows_currency() -> None:
    row = entry("payment", None, {"amount": 20900, "currency": "CNY", "status": "waiting"})
    with translation.override("en"):
        assert "Amount set to CN¥209.00" in sentences(row)
    refund = entry("payment", {"refunded": 0}, {"refunded": 1699, "currency": "USD"})
    with translation.override("en"):
        zero, paid = Money(0, "USD").format(), Money(1699, "USD").format()
        assert f"Refunded changed from {zero} to {paid}" in sentences(refund)
    # Without a currency in the row an amount stays the number that was stored.
    assert "Amount set to 20900" in sentences(entry("payment", None, {"amount": 20900}))
