"""Each figure on the console's home page opens a list that shows as many rows as the figure
counts: the same eSIMs, orders, customers, refunds, renewals and supplier calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.payments import refunds
from esimdesk.payments.models import Payment
from tests import builders
from tests.conftest import run_tasks
from tests.console.conftest import member

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def home() -> tuple[Client, dict[str, Any]]:
    """A month ago: Erin's one-day plan (ended since) and Carol's monthly plan, renewing with
    a card declined off-session. Today: Alice's month and Bob's day (in CNY, half refunded),
    and an eSIM with no plan yet. The home page half an hour later, today's window."""
    clock.set_now(START)
    builders.exchange_rates(("USD", "CNY", "7.0"))
    month = builders.plan(usd=1000, prices={"USD": 1000, "CNY": 7000}, unit="month")
    day = builders.plan(usd=500, prices={"USD": 500, "CNY": 3500})
    builders.bundle(month)
    builders.bundle(day)
    builders.buy(builders.user("erin@example.com"), builders.new_esim_line(day))
    carol = builders.auto_renewing(builders.user("carol@example.com"), month, card="0341")
    builders.renewal_due(carol)
    builders.buy(builders.user("alice@example.com"), builders.new_esim_line(month))
    bob = builders.buy(builders.user("bob@example.com"), builders.new_esim_line(day),
                       currency="CNY")
    refunds.request_refund(payment=Payment.objects.get(order=bob, status="succeeded"),
                           amount=Money(1750, "CNY"), via="staff", reason="half", user=None)
    builders.make_esim(builders.user("frank@example.com"), subscribe=False)
    run_tasks()
    clock.advance(dt.timedelta(minutes=30))
    _boss, client = member("boss@example.com", "admin")
    response = client.get("/staff/?window=1d")
    assert response.status_code == 200
    return client, response.context


def rows(client: Client, url: str) -> int:
    """How many rows the admin list at ``url`` shows (not redirected to ``?e=1``)."""
    response = client.get(url)
    assert response.status_code == 200, url
    return int(response.context["cl"].result_count)


def test_active_esims_opens_the_esims_with_a_plan_running_now(
        home: tuple[Client, dict[str, Any]]) -> None:
    client, page = home
    # Alice's, Bob's and Carol's plans run; Erin's ended; Frank's eSIM has none.
    assert page["f"].esims.active == 3
    assert "plan_running=yes" in page["links"]["esims"]
    assert rows(client, page["links"]["esims"]) == 3
    assert rows(client, "/staff/esims/esim/") == 5  # the unfiltered list has all of them
    assert rows(client, "/staff/esims/esim/?plan_running=no") == 2


def test_paid_orders_open_the_orders_paid_in_the_window(
        home: tuple[Client, dict[str, Any]]) -> None:
    client, page = home
    assert page["f"].orders.paid == 2  # Alice's and Bob's; Carol's renewal was declined
    assert rows(client, page["links"]["orders"]) == page["f"].orders.paid


def test_new_customers_open_the_customers_who_joined_in_the_window(
        home: tuple[Client, dict[str, Any]]) -> None:
    client, page = home
    assert page["f"].customers.new == 3  # Alice, Bob and Frank; staff left out
    assert rows(client, page["links"]["customers"]) == page["f"].customers.new


def test_refunds_open_the_refunds_that_succeeded_in_the_window(
        home: tuple[Client, dict[str, Any]]) -> None:
    client, page = home
    assert page["f"].refunds.count == 1
    assert rows(client, page["links"]["refunds"]) == page["f"].refunds.count


def test_renewals_open_the_attempts_of_each_state(
        home: tuple[Client, dict[str, Any]]) -> None:
    client, page = home
    renewals = page["f"].renewals
    assert (renewals.succeeded, renewals.declined, renewals.waiting) == (0, 1, 1)
    assert rows(client, page["links"]["renewals_succeeded"]) == renewals.succeeded
    assert rows(client, page["links"]["renewals_declined"]) == renewals.declined
    assert rows(client, page["links"]["renewals_waiting"]) == renewals.waiting


def test_supplier_health_opens_the_calls_of_the_last_day(
        home: tuple[Client, dict[str, Any]]) -> None:
    client, page = home
    [row] = page["suppliers"]
    assert row["day"].calls >= 2
    assert rows(client, page["links"]["calls"]) == row["day"].calls
    assert rows(client, row["failures_link"]) == row["day"].failures
