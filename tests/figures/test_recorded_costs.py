"""The margin of past orders uses the supplier cost and exchange rate of the day each order
was fulfilled: changing today's bundle cost or rate leaves last month's margin as it was.
Lines fulfilled before costs were recorded fall back to today's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from esimdesk.catalog.models import ExchangeRate, SupplierBundle
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.figures.figures import Window, figures
from esimdesk.orders.models import OrderLine
from tests import builders

pytestmark = pytest.mark.django_db

LAST_MONTH = dt.datetime(2026, 9, 10, 9, 0, tzinfo=dt.UTC)
TODAY = dt.datetime(2026, 10, 10, 9, 0, tzinfo=dt.UTC)


def last_month() -> Window:
    return Window.of(LAST_MONTH - dt.timedelta(days=1), LAST_MONTH + dt.timedelta(days=1))


@pytest.fixture
def sold_last_month() -> OrderLine:
    """A plan costing 2.00 USD at the simulator, sold for 70.00 CNY with 1 USD = 7 CNY."""
    clock.set_now(LAST_MONTH)
    builders.exchange_rates(("USD", "CNY", "7.0"))
    plan = builders.plan(usd=1000, prices={"USD": 1000, "CNY": 7000})
    builders.bundle(plan, cost=200, currency="USD")
    order = builders.buy(builders.user("lin@example.com"), builders.new_esim_line(plan),
                         currency="CNY")
    return order.lines.get()


def test_the_cost_and_rate_are_recorded_when_the_order_is_fulfilled(
        sold_last_month: OrderLine) -> None:
    line = sold_last_month
    assert (line.cost, line.cost_currency) == (200, "USD")
    assert line.cost_rate == Decimal("7")
    assert line.cost_converted == 1400  # 14.00 CNY


def test_a_new_cost_or_rate_today_leaves_last_months_margin_alone(
        sold_last_month: OrderLine) -> None:
    before = figures(last_month()).margin
    # Reported in USD: 70.00 CNY is 10.00 USD, the 14.00 CNY cost 2.00 USD.
    assert (before.revenue, before.cost) == (Money(1000, "USD"), Money(200, "USD"))
    assert before.percent == Decimal("80.0")
    clock.set_now(TODAY)
    SupplierBundle.objects.update(cost=900)
    after = figures(last_month()).margin
    assert after == before
    # A new rate moves both sides alike: the percentage stays what it was on the day.
    ExchangeRate.objects.update(rate=Decimal("5.0"))
    moved = figures(last_month()).margin
    assert moved.percent == Decimal("80.0")
    assert (moved.revenue, moved.cost) == (Money(1400, "USD"), Money(280, "USD"))


def test_a_line_fulfilled_before_costs_were_recorded_uses_todays(
        sold_last_month: OrderLine) -> None:
    OrderLine.objects.update(cost=None, cost_currency="", cost_rate=None, cost_converted=None)
    SupplierBundle.objects.update(cost=350)
    margin = figures(last_month()).margin
    assert margin.cost == Money(350, "USD")
    assert (margin.costed_lines, margin.uncosted_lines) == (1, 0)


def test_a_line_no_bundle_priced_records_nothing_and_stays_uncosted(db: None) -> None:
    clock.set_now(LAST_MONTH)
    plan = builders.plan(usd=1000)
    order = builders.buy(builders.user("ana@example.com"), builders.new_esim_line(plan))
    line = order.lines.get()
    assert line.cost is None and line.cost_converted is None
    assert figures(last_month()).margin.uncosted_lines == 1
