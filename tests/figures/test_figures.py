"""The figures equal what the test did: orders paid in two currencies, a refund, a failed
activation, a failover, a declined renewal, an answered chat."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from esimdesk.core import clock
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.money import Money
from esimdesk.figures.figures import MAX_WINDOW, Window, figures
from esimdesk.orders.models import Order
from esimdesk.payments import refunds
from esimdesk.payments.models import Payment
from esimdesk.provisioning.models import SupplierCall
from tests import builders
from tests.conftest import run_tasks

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def business(db: None, refusing: str) -> dict[str, object]:
    """Everything happens between START and START + 40 days."""
    clock.set_now(START)
    builders.exchange_rates(("USD", "CNY", "7.0"))
    sold = builders.plan(usd=1000, prices={"USD": 1000, "CNY": 7000}, unit="month")
    builders.bundle(sold, "refusing", priority=1, cost=300)
    builders.bundle(sold, "simulator", priority=2, cost=400)  # what it costs, failed over
    stuck = builders.plan(usd=500, prices={"USD": 500})
    builders.bundle(stuck, "refusing", cost=100)  # only the refusing supplier: fails
    alice, bob = builders.user("alice@example.com"), builders.user("bob@example.com")
    usd = builders.buy(alice, builders.new_esim_line(sold))
    clock.advance(dt.timedelta(minutes=5))
    cny = builders.buy(bob, builders.new_esim_line(sold), currency="CNY")
    failed = builders.buy(bob, builders.new_esim_line(stuck))
    clock.advance(dt.timedelta(hours=1))
    payment = Payment.objects.get(order=cny, status="succeeded")
    refunds.request_refund(payment=payment, amount=Money(3500, "CNY"), via="staff",
                           reason="half of it", user=None)
    run_tasks()
    # A renewal with a card declined off-session, a month later.
    carol = builders.user("carol@example.com")
    subscription = builders.auto_renewing(carol, sold, card="0341")
    builders.renewal_due(subscription)
    declined_at = clock.now()
    # A chat answered after 90 seconds.
    builders.answered_chat(alice, builders.agent(), after=dt.timedelta(seconds=90))
    return {"usd": usd, "cny": cny, "failed": failed, "declined_at": declined_at}


def test_the_figures_are_what_happened(business: dict[str, object]) -> None:
    usd, failed = business["usd"], business["failed"]
    assert isinstance(failed, Order) and failed.status == "fulfilment_failed"
    assert isinstance(usd, Order) and usd.status == "fulfilled"
    got = figures(Window.of(START, START + dt.timedelta(days=40)))
    # Four orders paid: Alice's and Bob's plans, Bob's stuck one, Carol's first month (USD).
    assert got.orders.paid == 4
    assert got.orders.refunded == 1
    assert got.revenue.per_currency == [Money(7000, "CNY"), Money(1000 + 500 + 1000, "USD")]
    assert got.revenue.reporting.amount == Money(1000 + 2500, "USD")
    assert got.revenue.reporting.unconverted == []
    assert got.refunds.count == 1
    assert got.refunds.per_currency == [Money(3500, "CNY")]
    assert got.refunds.reporting.amount == Money(500, "USD")
    assert got.customers.new == 3  # the agent is staff
    assert got.esims.active == 0  # a month's plans have ended 40 days on
    assert got.activations.failed == 1 and got.activations.waiting == 0
    assert got.activations.oldest_failed == failed.paid_at  # type: ignore[attr-defined]
    assert got.activations.median_seconds == 0.0  # the tests' clock stands still meanwhile
    assert (got.renewals.succeeded, got.renewals.declined, got.renewals.waiting) == (0, 1, 1)
    assert got.support.open == 1
    assert got.support.median_first_answer_seconds == 90.0
    health = {s.name: s for s in got.suppliers}
    assert list(health) == ["refusing", "simulator"]
    # The refusing supplier was asked for each of the three new eSIMs of ``sold`` and for
    # the stuck one: four calls, four failures, three failovers to the simulator.
    assert (health["refusing"].calls, health["refusing"].failures,
            health["refusing"].failovers) == (4, 4, 3)
    assert health["refusing"].label == "Refusing Ltd"
    assert (health["simulator"].calls, health["simulator"].failures,
            health["simulator"].failovers) == (3, 0, 0)
    assert health["simulator"].p95_ms is not None
    # Margin: the three new eSIMs of ``sold`` (10.00 USD, 70.00 CNY = 10.00 USD, 10.00 USD)
    # cost 4.00 USD each at the simulator; the stuck order bought no period.
    assert got.margin.revenue == Money(3000, "USD")
    assert got.margin.cost == Money(1200, "USD")
    assert got.margin.amount == Money(1800, "USD")
    assert got.margin.percent == Decimal("60.0")
    assert (got.margin.costed_lines, got.margin.uncosted_lines) == (3, 1)


def test_a_window_counts_only_what_happened_in_it(business: dict[str, object]) -> None:
    before = figures(Window.of(START - dt.timedelta(days=1), START))
    assert (before.orders.paid, before.refunds.count, before.customers.new) == (0, 0, 0)
    assert before.revenue.per_currency == [] and before.revenue.reporting.amount == Money(0, "USD")
    assert all(s.calls == 0 and s.p95_ms is None for s in before.suppliers)
    # What waits now is the same whatever the window.
    assert (before.activations.failed, before.renewals.waiting, before.support.open) == (1, 1, 1)
    # In the first hour Alice's and Bob's orders are paid and their plans run; Carol buys
    # hers after it.
    first_hour = figures(Window.of(START, START + dt.timedelta(hours=1)))
    assert first_hour.esims.active == 2
    assert first_hour.orders.paid == 3
    assert figures(Window.of(START, START + dt.timedelta(days=1))).esims.active == 3


def test_a_currency_without_a_rate_is_named_not_guessed(business: dict[str, object],
                                                         settings: object) -> None:
    from esimdesk.catalog.models import ExchangeRate

    ExchangeRate.objects.all().delete()
    got = figures(Window.of(START, START + dt.timedelta(days=40)))
    assert got.revenue.reporting.amount == Money(2500, "USD")
    assert got.revenue.reporting.unconverted == ["CNY"]
    assert got.refunds.reporting.amount is None
    assert got.margin.uncosted_lines == 2  # Bob's CNY line and the stuck one


def test_supplier_calls_are_recorded_with_their_outcome(business: dict[str, object]) -> None:
    outcomes = set(SupplierCall.objects.values_list("supplier", "operation", "outcome"))
    assert ("refusing", "order_profile", "refused") in outcomes
    assert ("simulator", "order_profile", "ok") in outcomes


def test_windows_are_checked(db: None) -> None:
    with pytest.raises(ValidationFailed) as reversed_window:
        Window.of(START, START)
    assert reversed_window.value.code == "invalid_window"
    with pytest.raises(ValidationFailed) as too_long:
        Window.of(START - MAX_WINDOW - dt.timedelta(seconds=1), START)
    assert too_long.value.code == "window_too_long"
    clock.set_now(START)
    assert Window.of() == Window(START - dt.timedelta(hours=24), START)
