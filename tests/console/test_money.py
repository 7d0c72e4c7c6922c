"""The Money page, where finance lands: revenue per currency (gross, refunded, net), paid
orders, refunds to act on, payments per provider and outcome, margin and invoices, each a
link to a list showing as many rows as the figure counts, in the same number of queries
for 10 orders as for 10,000."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group
from esimdesk.payments import checkout, refunds
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment, Refund
from esimdesk.sharedplans.models import MonthlyInvoice
from tests import builders
from tests.conftest import run_tasks
from tests.console.conftest import member
from tests.figures.test_query_count import NOW, add_business

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


def invoice(group: Group, number: str, *, issued: dt.datetime, due: dt.datetime,
            total: int, paid: dt.datetime | None = None) -> MonthlyInvoice:
    return MonthlyInvoice.objects.create(
        group=group, month=issued.date().replace(day=1) - dt.timedelta(days=int(number[-1])),
        currency="USD", number=number, total=total, issued_at=issued, due_at=due,
        status="paid" if paid else "issued", paid_at=paid)


@pytest.fixture
def money() -> tuple[Client, dict[str, Any]]:
    """Today: Alice pays 10.00 USD, Bob 35.00 CNY (half refunded), Carol's card is
    declined; a refund is pending since an hour and another failed. Two organisations'
    invoices issued today (one paid), one from last month overdue. The Money page an hour
    later, today's window, for finance."""
    clock.set_now(START)
    builders.exchange_rates(("USD", "CNY", "7.0"))
    month = builders.plan(usd=1000, prices={"USD": 1000, "CNY": 7000}, unit="month")
    day = builders.plan(usd=500, prices={"USD": 500, "CNY": 3500})
    builders.bundle(month, cost=400)
    builders.bundle(day, cost=100)
    alice = builders.buy(builders.user("alice@example.com"), builders.new_esim_line(month))
    bob = builders.buy(builders.user("bob@example.com"), builders.new_esim_line(day),
                       currency="CNY")
    refunds.request_refund(payment=Payment.objects.get(order=bob, status="succeeded"),
                           amount=Money(1750, "CNY"), via="staff", reason="half", user=None)
    carol = builders.user("carol@example.com")
    placed = checkout.place_order(user=carol, lines=[builders.new_esim_line(day)],
                                  currency="USD", method="sandbox")
    assert placed.payment is not None
    payments.complete_sandbox_payment(user=carol, payment_id=placed.payment.public_id,
                                      outcome="decline")
    paid_alice = Payment.objects.get(order=alice, status="succeeded")
    Refund.objects.create(payment=paid_alice, amount=300, currency="USD", via="staff",
                          status=Refund.Status.PENDING)
    Refund.objects.create(payment=paid_alice, amount=200, currency="USD", via="staff",
                          status=Refund.Status.FAILED, failure_message="card closed")
    owner = builders.user("cfo@example.com")
    corp = groups.create_group(owner=owner, kind=Group.Kind.ENTERPRISE, name="Corp")
    invoice(corp, "INV-1", issued=START - dt.timedelta(days=40),
            due=START - dt.timedelta(days=10), total=9000)
    invoice(corp, "INV-2", issued=START, due=START + dt.timedelta(days=30), total=5000)
    invoice(corp, "INV-3", issued=START, due=START + dt.timedelta(days=30), total=2500,
            paid=START + dt.timedelta(minutes=20))
    run_tasks()
    clock.advance(dt.timedelta(hours=1))
    _finance, client = member("finance@example.com", "finance")
    response = client.get("/staff/money/?window=1d")
    assert response.status_code == 200
    return client, response.context


def rows(client: Client, url: str) -> int:
    """How many rows the list at ``url`` shows: an admin list (not redirected to ``?e=1``)
    or the invoices page."""
    response = client.get(url)
    assert response.status_code == 200, url
    if "cl" in response.context:
        return int(response.context["cl"].result_count)
    return len(response.context["rows"])


def test_revenue_per_currency_gross_refunded_net(money: tuple[Client, dict[str, Any]]) -> None:
    client, page = money
    f = page["f"]
    assert f.paid_orders == 2
    by = {line.currency: line for line in f.currencies}
    assert (by["USD"].orders, by["USD"].gross, by["USD"].net) == (1, Money(1000, "USD"),
                                                                   Money(1000, "USD"))
    assert (by["CNY"].gross, by["CNY"].refunded, by["CNY"].net) == (
        Money(3500, "CNY"), Money(1750, "CNY"), Money(1750, "CNY"))
    # In USD at 7 CNY: 10.00 + 5.00 gross, 2.50 back, 12.50 net.
    assert (f.gross.amount, f.refunded.amount, f.net.amount) == (
        Money(1500, "USD"), Money(250, "USD"), Money(1250, "USD"))
    assert rows(client, page["links"]["orders"]) == f.paid_orders
    assert rows(client, page["links"]["refunds"]) == f.refunds_succeeded == 1
    for row in page["currencies"]:
        assert rows(client, row["links"]["orders"]) == row["line"].orders
        assert rows(client, row["links"]["refunds"]) == (1 if row["line"].refunded.amount else 0)


def test_refunds_to_act_on_open_the_pending_and_failed_refunds(
        money: tuple[Client, dict[str, Any]]) -> None:
    client, page = money
    to_act = page["f"].refunds_to_act
    assert (to_act.pending, to_act.failed) == (1, 1)
    assert to_act.pending_amounts == [Money(300, "USD")]
    assert rows(client, page["links"]["refunds_pending"]) == to_act.pending
    assert rows(client, page["links"]["refunds_failed"]) == to_act.failed


def test_payments_per_provider_and_outcome_open_those_payments(
        money: tuple[Client, dict[str, Any]]) -> None:
    client, page = money
    [sandbox] = page["providers"]
    counts = {cell["outcome"]: cell["count"] for cell in sandbox["cells"]}
    assert counts["succeeded"] == 2 and counts["declined"] == 1
    assert sandbox["line"].success_percent == Decimal("66.7")
    for cell in sandbox["cells"]:
        assert rows(client, cell["url"]) == cell["count"], cell["outcome"]
    assert rows(client, page["links"]["payments"]) == sum(counts.values())


def test_the_margin_opens_the_lines_it_counts(money: tuple[Client, dict[str, Any]]) -> None:
    client, page = money
    margin = page["f"].margin
    # Alice's month: 10.00 for 4.00; Bob's day: 35.00 CNY (5.00) for 1.00 (the margin
    # counts what the line brought in when fulfilled; a later refund is apart).
    assert (margin.revenue, margin.cost) == (Money(1500, "USD"), Money(500, "USD"))
    assert rows(client, page["links"]["margin_lines"]) == (
        margin.costed_lines + margin.uncosted_lines)


def test_invoices_issued_paid_and_overdue_open_those_invoices(
        money: tuple[Client, dict[str, Any]]) -> None:
    client, page = money
    found = page["f"].invoices
    assert (found.issued, found.paid, found.overdue) == (2, 1, 1)
    assert found.issued_amounts == [Money(7500, "USD")]
    assert found.overdue_amounts == [Money(9000, "USD")]
    assert rows(client, page["links"]["invoices_issued"]) == found.issued
    assert rows(client, page["links"]["invoices_paid"]) == found.paid
    assert rows(client, page["links"]["invoices_overdue"]) == found.overdue


def test_every_link_on_the_page_opens_a_list(money: tuple[Client, dict[str, Any]]) -> None:
    client, _page = money
    html = client.get("/staff/money/?window=1d").content.decode()
    for url in set(re.findall(r'href="(/staff/[^"]*\?[^"]*)"', html)):
        response = client.get(url.replace("&amp;", "&"))
        assert response.status_code == 200, url
        assert "?e=1" not in response.get("Location", ""), url


def money_page(client: Client, window: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/staff/money/?window={window}")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_ten_orders_or_ten_thousand_the_same_queries() -> None:
    clock.set_now(NOW)
    builders.exchange_rates(("USD", "CNY", "7.0"))
    _user, finance = member("finance@example.com", "finance")
    add_business(10, 0)
    few = money_page(finance, "1d")
    add_business(9_990, 10)
    assert money_page(finance, "1d") == few
    assert money_page(finance, "30d") == few


def test_finance_lands_on_money_admins_on_the_figures_agents_on_support() -> None:
    _user, finance = member("finance@example.com", "finance")
    landed = finance.get("/staff/")
    assert landed.status_code == 302 and landed["Location"] == reverse("console_money")
    _user, boss = member("boss@example.com", "admin")
    assert 'data-figure="revenue"' in boss.get("/staff/").content.decode()
    assert boss.get("/staff/money/").status_code == 200
    _user, agent = member("agent@example.com", "agent")
    assert agent.get("/staff/").status_code == 302
    assert agent.get("/staff/money/").status_code == 403
