"""A supplier that answers 429 (or 503) with ``Retry-After`` is not asked again sooner:
eSIM Go's header becomes the error's ``retry_after``, and both fulfilment's and background
tasks' retries wait for the longer of their backoff and what the supplier asked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.utils import format_datetime
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.esims import suspension
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.provisioning import registry, retrying
from esimdesk.provisioning.models import EsimGoOrder
from esimdesk.provisioning.suppliers.base import (
    MAX_RETRY_AFTER,
    RetryableUpstreamError,
    wait_before_retry,
)
from esimdesk.provisioning.suppliers.esimgo.client import retry_after
from tests import builders
from tests.provisioning import fake_esimgo
from tests.provisioning.fake_esimgo import FakeEsimGo

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def esimgo(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeEsimGo]:
    clock.set_now(START)
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo"]}
    server = FakeEsimGo()
    with fake_esimgo.running(server) as base:
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", fake_esimgo.API_KEY)
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", base)
        yield server


def _paid() -> int:
    plan = builders.plan(countries=("TH",), unit="month", data_gb=10, usd=1299)
    builders.bundle(plan, "esimgo", code="esim_10GB_30D_TH_V2", priority=1)
    buyer = User.objects.create_user("go@example.com", "x-long-password-1")
    payment = checkout.place_order(user=buyer, currency="USD", method="sandbox", lines=[
        orders.LineRequest(plan=plan.code, type="new_esim")]).payment
    assert payment is not None
    payments.complete_sandbox_payment(user=buyer, payment_id=payment.public_id,
                                      outcome="approve")
    DBTaskResult.objects.all().delete()  # the payment's own queued fulfilment
    return payment.order_id


def _next_run() -> dt.datetime:
    return DBTaskResult.objects.get(status="READY").run_after


def test_the_header_in_seconds_or_as_a_date() -> None:
    clock.set_now(START)
    assert retry_after("120") == 120.0
    assert retry_after(format_datetime(START + dt.timedelta(minutes=3), usegmt=True)) == 180.0
    for nothing in ("", "0", "soon", "-5", format_datetime(START - dt.timedelta(hours=1))):
        assert retry_after(nothing) is None


def test_the_longer_of_backoff_and_what_the_supplier_asked() -> None:
    minute = dt.timedelta(minutes=1)
    asked = RetryableUpstreamError("429", retry_after=300)
    assert wait_before_retry(asked, minute) == dt.timedelta(seconds=300)
    assert wait_before_retry(asked, 10 * minute) == 10 * minute
    assert wait_before_retry(RetryableUpstreamError("x"), minute) == minute
    assert wait_before_retry(ValueError("x"), minute) == minute
    assert wait_before_retry(RetryableUpstreamError("x", retry_after=10**9),
                             minute) == MAX_RETRY_AFTER


def test_a_rate_limited_order_is_tried_again_no_sooner_than_eSIM_Go_asked(
        esimgo: FakeEsimGo) -> None:
    order_id = _paid()
    esimgo.fail, esimgo.retry_after = [429], "300"
    assert orders.fulfil_order(order_id=order_id) == "retrying"
    assert EsimGoOrder.objects.get().state == EsimGoOrder.State.NEW  # nothing was ordered
    assert _next_run() >= START + dt.timedelta(seconds=300)  # not the 1-second backoff
    clock.set_now(_next_run())
    assert orders.fulfil_order(order_id=order_id, attempt=2) == "fulfilled"
    assert len(esimgo.orders) == 1


def test_a_wait_past_the_deadline_is_not_waited_for(esimgo: FakeEsimGo) -> None:
    order_id = _paid()
    esimgo.fail, esimgo.retry_after = [429], "7200"  # two hours; the deadline is 30 minutes
    assert orders.fulfil_order(order_id=order_id) == "retrying"  # not given up unasked
    assert _next_run() <= START + dt.timedelta(minutes=2)  # at the backoff
    assert Order.objects.get(pk=order_id).status == Order.Status.PAID


def test_a_background_task_waits_as_long_as_the_supplier_asked(esimgo: FakeEsimGo) -> None:
    esimgo.fail, esimgo.retry_after = [503], "1200"
    supplier = registry.get("esimgo")
    result = retrying.attempt_from_task(
        call=lambda: supplier.suspend(reference="sus-1", iccid=builders.iccid(1)),
        retry=suspension.supplier_task, args=(1, "suspend", "sus-1"), attempt=1,
        what="suspend")
    assert (result.outcome, result.code) == ("retrying", "esimgo_down")
    assert "retry after 1200 s" in result.message
    # 20 minutes, not the 5 of the first backoff.
    assert _next_run() == START + dt.timedelta(seconds=1200)
