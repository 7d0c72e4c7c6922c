"""Plan changes and top-ups at the service level: the edges the journeys do not reach."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB, Plan
from esimdesk.core import clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.core.models import AuditEntry
from esimdesk.orders import services as orders
from esimdesk.orders import topups
from esimdesk.orders.lines import LineRequest
from esimdesk.orders.models import Order, OrderLine
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.models import Refund
from esimdesk.provisioning import registry as upstream
from esimdesk.sandbox.models import SimulatedTopUp
from esimdesk.subscriptions import changes
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period
from tests import builders
from tests.builders import CALLS, DAY, MONTH, TOPUP_1GB, YEAR, Shop, bought_esim, buy
from tests.conftest import run_tasks

START = dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def user(shop: Shop) -> User:
    return builders.user("svc@example.com")


def place_order(**kwargs: Any) -> tuple[Order, Any]:
    """``checkout.place_order`` with the method named ``provider``, as (order, payment)."""
    placed = checkout.place_order(method=kwargs.pop("provider"), **kwargs)
    return placed.order, placed.payment


def new_esim(user: User, plan: str = MONTH) -> str:
    return bought_esim(user, Plan.objects.get(code=plan)).iccid


def change_now(iccid: str, plan: str) -> LineRequest:
    return LineRequest(type="plan_change", plan=plan, iccid=iccid, when="now")


def test_change_in_the_instant_the_plan_started_cancels_it_and_credits_everything(
        user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user)
    [priced] = orders.price_lines(user=user, lines=[change_now(iccid, CALLS)],
                                  currency="USD")
    assert (priced.credit.amount, priced.price.amount) == (1699, 2999 - 1699)  # type: ignore[union-attr]
    buy(user, change_now(iccid, CALLS))
    first, second = Period.objects.order_by("sequence")
    assert first.state == "cancelled"
    assert (second.plan.code, second.starts_at, second.state) == (
        CALLS, START, "active")


def test_policy_time_data_and_min(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set_now(START)
    iccid = new_esim(user)
    Allowance.objects.filter(source="plan").update(used=8 * GB)  # 80 % of the data used
    clock.set_now(START + dt.timedelta(days=3))  # 90 % of the time unused
    credits = {}
    for policy in ("time", "data", "min", "nonsense"):
        monkeypatch.setenv("ESIMDESK_PLAN_CHANGE_POLICY", policy)
        [priced] = orders.price_lines(user=user, lines=[change_now(iccid, DAY)],
                                      currency="USD")
        credits[policy] = priced.credit.amount  # type: ignore[union-attr]
    # time: ceil(1699 * 27/30) = 1530; data: ceil(1699 * 2/10) = 340.
    assert credits == {"time": 1530, "data": 340, "min": 340, "nonsense": 340}


def test_credit_is_computed_for_the_start_of_the_minute(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user)
    clock.set_now(START + dt.timedelta(days=10))
    [at_minute] = orders.price_lines(user=user, lines=[change_now(iccid, DAY)],
                                     currency="USD")
    clock.advance(dt.timedelta(seconds=59))
    [same_minute] = orders.price_lines(user=user, lines=[change_now(iccid, DAY)],
                                       currency="USD")
    assert same_minute.refund == at_minute.refund
    assert same_minute.quote["priced_at"] == at_minute.quote["priced_at"]  # type: ignore[index]


def test_a_changed_price_is_refused_not_charged(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user)
    clock.set_now(START + dt.timedelta(days=10))
    [priced] = orders.price_lines(user=user, lines=[change_now(iccid, CALLS)],
                                  currency="USD")
    clock.advance(dt.timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        orders.create_order(user=user, lines=[change_now(iccid, CALLS)],
                            currency="USD", expected_total=priced.price.amount,
                            expected_refund=0)
    assert refused.value.code == "price_changed"
    assert refused.value.detail["total"] > priced.price.amount
    assert not Order.objects.filter(lines__type="plan_change").exists()


def test_a_plan_change_must_be_alone_for_its_esim(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user)
    with pytest.raises(ValidationFailed) as refused:
        orders.price_lines(user=user, currency="USD", lines=[
            change_now(iccid, DAY),
            LineRequest(type="top_up", iccid=iccid, product=TOPUP_1GB)])
    assert refused.value.code == "plan_change_not_alone"


def test_when_the_replaced_period_ended_before_fulfilment_the_new_one_follows_the_running(
        user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user, DAY)
    buy(user, LineRequest(type="renewal", plan=DAY, iccid=iccid))  # 2 - 3 April
    buy(user, LineRequest(type="renewal", plan=DAY, iccid=iccid))  # 3 - 4 April
    clock.set_now(START + dt.timedelta(hours=12))
    _order, payment = place_order(user=user, lines=[change_now(iccid, MONTH)],
                                  currency="USD", provider="sandbox")
    assert payment is not None
    # Paid and fulfilled only after the day it replaces is over (period 2 now runs).
    clock.set_now(START + dt.timedelta(days=1, hours=6))
    payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                      outcome="approve")
    run_tasks()
    periods = list(Period.objects.exclude(state="cancelled").order_by("starts_at"))
    assert [(p.sequence, p.plan.code) for p in periods] == [
        (1, DAY), (2, DAY), (3, MONTH), (4, DAY)]
    day2, month, day3 = periods[1:]
    assert day2.starts_at == START + dt.timedelta(days=1)
    assert month.starts_at == day2.ends_at and month.state == "scheduled"
    assert month.ends_at == dt.datetime(2026, 5, 3, tzinfo=dt.UTC)
    assert day3.starts_at == month.ends_at
    assert periods[0].ends_at == START + dt.timedelta(days=1)  # ended on its own


def test_sequences_stay_in_time_order_around_a_cancelled_period(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user, DAY)
    subscription = Period.objects.get().subscription
    day = Plan.objects.get(code=DAY)
    second = subscriptions.add_period(subscription=subscription, plan=day)
    subscriptions.add_period(subscription=subscription, plan=day)
    subscriptions.end_period_early(period=second, actor="test", reason="refund")  # cancelled
    clock.set_now(START + dt.timedelta(hours=6))
    buy(user, change_now(iccid, MONTH))
    rows = list(Period.objects.order_by("sequence").values_list("sequence", "state",
                                                                "plan__code"))
    assert rows == [(1, "ended", DAY), (2, "cancelled", DAY),
                    (3, "active", MONTH), (4, "scheduled", DAY)]
    live = Period.objects.exclude(state="cancelled").order_by("sequence")
    ends = [p.ends_at for p in live]
    starts = [p.starts_at for p in live]
    assert starts[1:] == ends[:-1]  # back to back
    assert subscription.__class__.objects.get(pk=subscription.pk).plan.code == DAY


def test_refunds_walk_back_through_plan_changes_paid_with_credit(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user, CALLS)  # USD 29.99, paid by card
    clock.set_now(START + dt.timedelta(days=1))
    buy(user, change_now(iccid, MONTH))  # credit 2900: 1201 back, no payment
    clock.set_now(START + dt.timedelta(days=2))
    third = buy(user, change_now(iccid, DAY))  # credit from a period paid by credit
    line = third.lines.get()
    assert line.amount == 0 and line.refund_amount > 0
    refunds = list(Refund.objects.order_by("pk").values_list("amount", "status"))
    assert refunds == [(1201, "succeeded"), (line.refund_amount, "succeeded")]
    # Both went back to the only card payment, never more than it took.
    assert sum(amount for amount, _ in refunds) < 2999
    assert not AuditEntry.objects.filter(action="refund.unfunded").exists()


def test_top_up_is_applied_once_however_often_fulfilment_runs(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user)
    order, payment = place_order(user=user, currency="USD", provider="sandbox", lines=[
        LineRequest(type="top_up", iccid=iccid, product=TOPUP_1GB)])
    assert payment is not None
    line = order.lines.get()
    # A crash after the supplier applied it, before esimdesk recorded it: the retry reuses
    # the line's reference, so the supplier does not top up a second time.
    upstream.primary().apply_top_up(reference=line.upstream_reference, iccid=iccid,
                                    product_code=TOPUP_1GB, data_bytes=GB, voice_seconds=0,
                                    sms_count=0, extend_days=0)
    payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                      outcome="approve")
    run_tasks()
    assert orders.fulfil_order(order_id=order.pk) == "fulfilled"
    topups.fulfil_top_up(OrderLine.objects.select_related("esim", "product", "order")
                         .get(pk=line.pk))
    run_tasks()
    assert SimulatedTopUp.objects.count() == 1
    assert Allowance.objects.filter(source="top_up").count() == 1
    assert OrderLine.objects.get(pk=line.pk).allowances.count() == 1


def test_top_up_lands_on_the_period_running_at_fulfilment(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user, DAY)
    buy(user, LineRequest(type="renewal", plan=DAY, iccid=iccid))  # 2 - 3 April
    clock.set_now(START + dt.timedelta(hours=23))
    order, payment = place_order(user=user, currency="USD", provider="sandbox", lines=[
        LineRequest(type="top_up", iccid=iccid, product=TOPUP_1GB)])
    assert payment is not None
    clock.set_now(START + dt.timedelta(days=1, hours=1))  # the next day runs (still queued
    payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,  # by state)
                                      outcome="approve")
    run_tasks()
    line = OrderLine.objects.get(order=order)
    second = Period.objects.get(sequence=2)
    assert line.target_period == second
    assert second.ends_at == START + dt.timedelta(days=2)  # validity unchanged
    assert Allowance.objects.get(source="top_up").period == second


def test_running_period_reads_by_time_not_state(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user, DAY)
    subscription = Period.objects.get().subscription
    subscriptions.add_period(subscription=subscription,
                             plan=Plan.objects.get(code=DAY))
    clock.set_now(START + dt.timedelta(days=1, minutes=1))
    running = changes.running_period(subscription)
    assert running is not None and running.sequence == 2 and running.state == "scheduled"
    assert iccid


def pdf_text(pdf: bytes) -> str:
    """The text drawing operators of a ReportLab PDF (ASCII85 + Flate streams)."""
    import base64
    import re
    import zlib

    out = b""
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = match.group(1).strip().removesuffix(b"~>")
        out += zlib.decompress(base64.a85decode(data))
    return out.decode("latin-1")


def test_receipt_shows_price_credit_and_what_was_paid_back(user: User) -> None:
    from esimdesk.orders.receipts import render_receipt_pdf

    clock.set_now(START)
    iccid = new_esim(user, CALLS)
    clock.set_now(START + dt.timedelta(days=1))
    order = buy(user, change_now(iccid, DAY))
    text = pdf_text(render_receipt_pdf(order))
    assert "(No payment needed \\(credit\\))" in text
    for row in ("($2.99)", "Credit for the unused part of the plan it replaced", "(-$29.00)",
                "Paid back to the original payment", "($26.01)", "($0.00)"):
        assert row in text, row


def test_two_changes_against_the_same_period_credit_it_once(user: User) -> None:
    clock.set_now(START)
    iccid = new_esim(user)
    clock.set_now(START + dt.timedelta(days=10))
    first, first_payment = place_order(user=user, currency="USD", provider="sandbox",
                                       lines=[change_now(iccid, CALLS)])
    second, second_payment = place_order(user=user, currency="USD", provider="sandbox",
                                         lines=[change_now(iccid, YEAR)])
    assert first_payment is not None and second_payment is not None
    for payment in (first_payment, second_payment):
        payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                          outcome="approve")
    run_tasks()
    live = Period.objects.exclude(state__in=["ended", "cancelled"]).get()
    assert live.plan.code == CALLS
    line = second.lines.get()
    assert (line.refund_amount, line.credit) == (line.amount, 0)
    assert Refund.objects.get(payment=second_payment).amount == line.amount
    second.refresh_from_db()
    assert second.status == "fulfilled"
    assert first.lines.get().period == live
