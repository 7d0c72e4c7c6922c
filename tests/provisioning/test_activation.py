"""A paid order is never stuck: a flaky supplier is retried without ordering twice, and a
supplier that is down is left for the next one."""

from __future__ import annotations

import datetime as dt

import pytest

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order, OrderLine
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.sandbox import simulator
from esimdesk.sandbox.models import SimulatedProfile
from tests.builders import DAY, Shop


def paid_orders(user: User, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        payment = checkout.place_order(user=user, currency="USD", method="sandbox",
                                       lines=[orders.LineRequest(type="new_esim",
                                                                 plan=DAY)]).payment
        payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                          outcome="approve")
        ids.append(payment.order_id)
    return ids


def fulfil_until_done(order_id: int, limit: int = 40) -> int:
    """What the task does on each (re)try, run back to back instead of after the backoff."""
    for attempt in range(1, limit + 1):
        if orders.fulfil_order(order_id=order_id, attempt=1) == "fulfilled":
            return attempt
    raise AssertionError(f"order {order_id} not fulfilled after {limit} tries")


@pytest.fixture
def user(shop: Shop) -> User:
    return User.objects.create_user("flaky@example.com", "x-long-password-1")


def test_half_the_calls_failing_every_order_ends_with_exactly_one_profile(
        user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_FAILURE_RATE", "0.5")
    monkeypatch.setenv("ESIMDESK_ACTIVATION_ATTEMPTS", "1000")  # one supplier: keep trying
    simulator._random.seed(2026)
    ids = paid_orders(user, 200)
    tries = [fulfil_until_done(order_id) for order_id in ids]
    assert max(tries) > 1  # the outages did happen
    assert Order.objects.filter(pk__in=ids, status="fulfilled").count() == 200
    assert Esim.objects.count() == 200
    assert SimulatedProfile.objects.count() == 200  # no retry ordered a second profile
    references = set(SimulatedProfile.objects.values_list("reference", flat=True))
    assert references == {line.supplier_reference for line in OrderLine.objects.all()}


def test_with_the_first_supplier_down_orders_complete_on_the_second(
        user: User, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus", "simulator"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("ESIMDESK_ACTIVATION_ATTEMPTS", "2")
    [order_id] = paid_orders(user, 1)
    assert orders.fulfil_order(order_id=order_id) == "retrying"
    assert orders.fulfil_order(order_id=order_id, attempt=2) == "fulfilled"
    esim = Esim.objects.get()
    assert esim.upstream == "simulator"
    line = OrderLine.objects.get()
    assert (line.supplier_index, line.supplier_attempts) == (1, 0)
    assert AuditEntry.objects.filter(action="activation.failover").count() == 1
    # A renewal goes back to the supplier that issued the profile, not the first configured.
    payment = checkout.place_order(user=user, currency="USD", method="sandbox",
                                   lines=[orders.LineRequest(type="renewal", plan=DAY,
                                                             iccid=esim.iccid)]).payment
    payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                      outcome="approve")
    assert orders.fulfil_order(order_id=payment.order_id) == "fulfilled"


def test_when_every_supplier_fails_the_order_needs_attention(
        user: User, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    [order_id] = paid_orders(user, 1)
    for attempt in range(1, 4):  # retried with backoff while the deadline is ahead
        assert orders.fulfil_order(order_id=order_id, attempt=attempt) == "retrying"
    clock.advance(dt.timedelta(minutes=31))  # past ESIMDESK_ACTIVATION_DEADLINE_MINUTES
    assert orders.fulfil_order(order_id=order_id, attempt=4) == "failed"
    assert Order.objects.get(pk=order_id).status == "fulfilment_failed"
    assert not Esim.objects.exists()


def test_staff_retry_after_every_supplier_failed(user: User, settings,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test import Client

    from tests.conftest import run_tasks

    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    [order_id] = paid_orders(user, 1)
    clock.advance(dt.timedelta(hours=1))
    orders.fulfil_order(order_id=order_id)
    assert Order.objects.get(pk=order_id).status == "fulfilment_failed"
    # The supplier is fixed (here: the operator switches to the simulator) and staff retry.
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["simulator"]}
    staff = Client()
    staff.force_login(User.objects.create_superuser("ops@example.com", "x-long-password-1"))
    response = staff.post("/staff/orders/order/", {"action": "retry_fulfilment",
                                                   "_selected_action": [order_id]})
    assert response.status_code == 302
    run_tasks()
    assert Order.objects.get(pk=order_id).status == "fulfilled"
    entry = AuditEntry.objects.get(action="order.retry_fulfilment")
    assert entry.actor_type == "staff"
