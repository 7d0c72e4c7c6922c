"""The figures take the same number of queries for 10 orders as for 10,000 (rows made with
bulk_create, so the test stays quick)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.figures.figures import Window, figures
from esimdesk.orders.models import Order, OrderLine
from esimdesk.payments.models import Payment, Refund
from esimdesk.provisioning.models import SupplierCall
from esimdesk.support.models import Conversation
from tests import builders

NOW = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def add_business(count: int, offset: int) -> None:
    """``count`` paid orders with a line, a payment and every tenth a refund, a supplier call
    each, and every hundredth a failover and an answered conversation."""
    plan = builders.standard_plan()
    buyer = builders.user(f"buyer{offset}@example.com")
    paid = NOW - dt.timedelta(hours=2)
    orders = Order.objects.bulk_create([
        Order(number=f"ED-Q{offset + n:08d}", user=buyer, currency=("USD", "CNY")[n % 2],
              total=1000 + n, status=("fulfilled", "paid", "fulfilment_failed")[n % 3],
              paid_at=paid, fulfilled_at=paid + dt.timedelta(seconds=n % 7) if n % 3 == 0
              else None, paid_provider="sandbox")
        for n in range(count)])
    OrderLine.objects.bulk_create([OrderLine(order=o, type="new_esim", plan=plan,
                                             amount=o.total) for o in orders])
    payments = Payment.objects.bulk_create([
        Payment(public_id=f"pay_q{offset + n}", order=o, provider="sandbox",
                provider_reference=f"q{offset + n}", amount=o.total, currency=o.currency,
                status="succeeded", succeeded_at=paid) for n, o in enumerate(orders)])
    Refund.objects.bulk_create([
        Refund(public_id=f"ref_q{offset + n}", payment=p, amount=100, currency=p.currency,
               status="succeeded", via="staff", succeeded_at=paid)
        for n, p in enumerate(payments) if n % 10 == 0])
    SupplierCall.objects.bulk_create([
        SupplierCall(at=paid, supplier=("simulator", "es2plus")[n % 2], operation="order_profile",
                     outcome=("ok", "retryable")[n % 5 == 0], duration_ms=n % 300)
        for n in range(count)])
    AuditEntry.objects.bulk_create([
        AuditEntry(at=paid, actor_type="task", action="activation.failover",
                   object_type="orderline", object_id=str(n), before={"supplier": "es2plus"})
        for n in range(count // 100)])
    Conversation.objects.bulk_create([
        Conversation(customer=buyer, created_at=paid, first_reply_at=paid + dt.timedelta(
            seconds=30 + n)) for n in range(max(count // 100, 1))])


def queries_for_figures() -> int:
    window = Window.of(NOW - dt.timedelta(days=1), NOW)
    with CaptureQueriesContext(connection) as captured:
        figures(window)
    return len(captured.captured_queries)


def test_ten_orders_or_ten_thousand_the_same_queries(db: None) -> None:
    clock.set_now(NOW)
    builders.exchange_rates(("USD", "CNY", "7.0"))
    add_business(10, 0)
    few = queries_for_figures()
    add_business(9_990, 10)
    assert queries_for_figures() == few
    assert few <= 14, few  # one or two per figure
    got = figures(Window.of(NOW - dt.timedelta(days=1), NOW))
    assert got.orders.paid == 10_000
    assert got.orders.refunded == 1_000
    assert got.activations.waiting + got.activations.failed == 6_666
    health = {s.name: s for s in got.suppliers}
    assert health["es2plus"].calls == 5_000 and health["es2plus"].failovers == 99
