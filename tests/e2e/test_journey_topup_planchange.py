"""Top-ups and plan changes through the public API, as a mobile app would use them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from esimdesk.catalog.models import GB
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment, Refund
from esimdesk.sandbox.models import SimulatedPlanApplication, SimulatedTopUp
from esimdesk.subscriptions.models import Allowance, Period
from tests.builders import (
    CALLS,
    DAY,
    MONTH,
    TOPUP_1GB,
    TOPUP_3GB,
    TOPUP_5GB,
    TOPUP_7DAYS,
    TOPUP_CALLS,
)
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay, complete

START = dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC)  # April has 30 days


def top_up(api: Api, iccid: str, product: str, *, currency: str = "USD",
           key: str | None = None) -> Any:
    return api.post("/api/v1/orders", {
        "lines": [{"type": "top_up", "iccid": iccid, "product": product}],
        "currency": currency, "provider": "sandbox"},
        headers={"Idempotency-Key": key} if key else None)


def pay(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    complete(api, order)
    run_tasks()
    return api.get(f"/api/v1/orders/{order['id']}").json()


def data_of(period: dict[str, Any]) -> int:
    return next(a["total"] for a in period["allowances"] if a["kind"] == "data")


@pytest.fixture
def month(api: Api) -> str:
    """A 10 GB / month plan bought on 1 April (USD 16.99), running until 1 May."""
    clock.set_now(START)
    return buy_and_pay(api, MONTH)["lines"][0]["iccid"]


# --- top-ups -------------------------------------------------------------------------------

def test_top_up_adds_a_bucket_and_keeps_the_validity(api: Api, month: str) -> None:
    clock.advance(dt.timedelta(days=3))
    offers = api.get(f"/api/v1/esims/{month}/top-ups?currency=USD")
    assert offers.status_code == 200
    by_code = {o["code"]: o for o in offers.json()["items"]}
    # The calls top-up is only for plans with calls; the others fit a monthly data plan.
    assert set(by_code) == {TOPUP_1GB, TOPUP_3GB, TOPUP_5GB, TOPUP_7DAYS}
    assert by_code[TOPUP_3GB]["price"]["amount"] == 1199
    assert by_code[TOPUP_3GB]["ends_at"] == "2026-05-01T00:00:00+00:00"
    assert by_code[TOPUP_7DAYS]["ends_at"] == "2026-05-08T00:00:00+00:00"

    response = top_up(api, month, TOPUP_3GB, key="topup-key-1")
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["total"]["amount"] == 1199  # what the list showed
    assert order["lines"][0]["product"] == TOPUP_3GB
    done = pay(api, order)
    assert done["status"] == "fulfilled"

    esim = api.get(f"/api/v1/esims/{month}").json()
    assert esim["current_period"]["ends_at"] == "2026-05-01T00:00:00+00:00"
    assert data_of(esim["current_period"]) == 13 * GB  # the API shows the sum
    assert SimulatedTopUp.objects.get().product_code == TOPUP_3GB

    # The same Idempotency-Key never tops up twice.
    again = top_up(api, month, TOPUP_3GB, key="topup-key-1")
    assert again.json() == order
    run_tasks()
    assert Order.objects.filter(lines__type="top_up").count() == 1
    assert Allowance.objects.filter(source="top_up").count() == 1
    assert data_of(api.get(f"/api/v1/esims/{month}").json()["current_period"]) == 13 * GB

    # A second top-up is a second bucket, never merged into the first.
    pay(api, top_up(api, month, TOPUP_1GB).json())
    buckets = Allowance.objects.filter(source="top_up").order_by("id")
    assert [b.total for b in buckets] == [3 * GB, 1 * GB]
    assert data_of(api.get(f"/api/v1/esims/{month}").json()["current_period"]) == 14 * GB


def test_top_up_expires_with_its_period_and_does_not_reach_the_next(api: Api,
                                                                     month: str) -> None:
    buy_and_pay(api, MONTH, iccid=month)  # queued: 1 May - 1 June
    clock.advance(dt.timedelta(days=5))
    pay(api, top_up(api, month, TOPUP_5GB).json())
    esim = api.get(f"/api/v1/esims/{month}").json()
    assert data_of(esim["current_period"]) == 15 * GB
    assert data_of(esim["queued_periods"][0]) == 10 * GB
    clock.set_now(dt.datetime(2026, 5, 1, 0, 0, tzinfo=dt.UTC))
    esim = api.get(f"/api/v1/esims/{month}").json()
    assert esim["current_period"]["starts_at"] == "2026-05-01T00:00:00+00:00"
    assert data_of(esim["current_period"]) == 10 * GB


def test_extending_top_up_moves_the_end_and_the_queued_periods(api: Api, month: str) -> None:
    buy_and_pay(api, MONTH, iccid=month)  # queued: 1 May - 1 June
    clock.advance(dt.timedelta(days=10))
    pay(api, top_up(api, month, TOPUP_7DAYS).json())
    esim = api.get(f"/api/v1/esims/{month}").json()
    current, [queued] = esim["current_period"], esim["queued_periods"]
    assert current["ends_at"] == "2026-05-08T00:00:00+00:00"
    assert data_of(current) == 12 * GB
    # Back to back, and the queued month keeps its full validity from its new start.
    assert queued["starts_at"] == "2026-05-08T00:00:00+00:00"
    assert queued["ends_at"] == "2026-06-08T00:00:00+00:00"
    assert esim["valid_until"] == queued["ends_at"]
    # The top-up's data ends with the extended period, not at the old end.
    clock.set_now(dt.datetime(2026, 5, 7, 23, 0, tzinfo=dt.UTC))
    assert data_of(api.get(f"/api/v1/esims/{month}").json()["current_period"]) == 12 * GB
    clock.set_now(dt.datetime(2026, 5, 8, 0, 0, tzinfo=dt.UTC))
    assert data_of(api.get(f"/api/v1/esims/{month}").json()["current_period"]) == 10 * GB


def test_top_up_refusals(api: Api, other_api: Api, month: str) -> None:
    def refused(response: Any, status: int, code: str) -> None:
        assert response.status_code == status, response.content
        assert response.json()["code"] == code
        assert response.json()["message"]

    before = Order.objects.count()
    refused(top_up(api, month, TOPUP_CALLS), 422, "top_up_not_for_plan")
    refused(top_up(api, month, "more-9gb"), 404, "unknown_product")
    refused(top_up(api, month, TOPUP_1GB, currency="JPY"), 422, "currency_not_available")
    refused(top_up(other_api, month, TOPUP_1GB), 404, "unknown_esim")
    refused(api.get(f"/api/v1/esims/{month}/top-ups?currency=XYZ"), 422,
            "unsupported_currency")
    clock.set_now(dt.datetime(2026, 5, 2, tzinfo=dt.UTC))  # the plan has ended
    refused(top_up(api, month, TOPUP_1GB), 409, "no_active_plan")
    refused(api.get(f"/api/v1/esims/{month}/top-ups"), 409, "no_active_plan")
    assert Order.objects.count() == before


def test_top_up_paid_after_the_plan_ended_is_paid_back(api: Api, month: str) -> None:
    clock.set_now(dt.datetime(2026, 4, 30, 23, 0, tzinfo=dt.UTC))
    order = top_up(api, month, TOPUP_1GB).json()
    clock.set_now(dt.datetime(2026, 5, 1, 0, 30, tzinfo=dt.UTC))  # paid after the end
    done = pay(api, order)
    assert done["status"] == "fulfilled"
    assert done["lines"][0]["refund"]["amount"] == 499
    assert [(r["amount"]["amount"], r["status"]) for r in done["refunds"]] == [
        (499, "succeeded")]
    assert done["refunded"]["amount"] == 499
    assert not Allowance.objects.filter(source="top_up").exists()
    assert not SimulatedTopUp.objects.exists()


def test_customer_refund_of_an_unused_top_up_takes_its_data_back(api: Api,
                                                                 month: str) -> None:
    done = pay(api, top_up(api, month, TOPUP_3GB).json())
    assert done["refund_eligible"] is True
    response = api.post(f"/api/v1/orders/{done['id']}/refund", {})
    assert response.status_code == 200, response.content
    run_tasks()
    esim = api.get(f"/api/v1/esims/{month}").json()
    assert data_of(esim["current_period"]) == 10 * GB
    assert esim["current_period"]["ends_at"] == "2026-05-01T00:00:00+00:00"


def test_a_used_or_extending_top_up_is_not_self_refundable(api: Api, month: str) -> None:
    extending = pay(api, top_up(api, month, TOPUP_7DAYS).json())
    assert extending["refund_eligible"] is False
    plain = pay(api, top_up(api, month, TOPUP_1GB).json())
    Allowance.objects.filter(source="top_up", total=1 * GB).update(used=1)
    assert api.get(f"/api/v1/orders/{plain['id']}").json()["refund_eligible"] is False


# --- plan changes --------------------------------------------------------------------------

def preview(api: Api, iccid: str, plan: str, when: str, currency: str = "USD") -> Any:
    return api.get(f"/api/v1/esims/{iccid}/plan-change/preview?plan={plan}&when={when}"
                   f"&currency={currency}")


def change(api: Api, iccid: str, plan: str, when: str, *, currency: str = "USD",
           key: str | None = None, **extra: Any) -> Any:
    return api.post(f"/api/v1/esims/{iccid}/plan-change",
                    {"plan": plan, "when": when, "currency": currency, "provider": "sandbox",
                     **extra}, headers={"Idempotency-Key": key} if key else None)


def test_change_now_credits_the_unused_part_and_queued_periods_follow(api: Api,
                                                                      month: str) -> None:
    buy_and_pay(api, MONTH, iccid=month)  # queued: 1 May - 1 June
    clock.set_now(dt.datetime(2026, 4, 11, 0, 0, 30, tzinfo=dt.UTC))
    shown = preview(api, month, CALLS, "now")
    assert shown.status_code == 200, shown.content
    quote = shown.json()
    # 20 of 30 days unused, no data used: credit = ceil(1699 * 2/3) = 1133.
    assert quote["price"]["amount"] == 2999
    assert quote["credit"]["amount"] == 1133
    assert quote["charge"]["amount"] == 2999 - 1133
    assert quote["refund"]["amount"] == 0
    assert quote["replaces"]["paid"]["amount"] == 1699
    assert quote["replaces"]["unused"] == "2/3"
    assert quote["policy"] == "min"

    response = change(api, month, CALLS, "now", key="change-1",
                      expected_charge=quote["charge"]["amount"], expected_refund=0)
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["total"] == quote["charge"]  # the preview is the charge
    [line] = order["lines"]
    assert (line["type"], line["when"], line["credit"]["amount"]) == ("plan_change", "now",
                                                                       1133)
    assert change(api, month, CALLS, "now", key="change-1",
                  expected_charge=quote["charge"]["amount"],
                  expected_refund=0).json() == order
    assert Order.objects.filter(lines__type="plan_change").count() == 1

    changed_at = clock.now()
    done = pay(api, order)
    assert done["status"] == "fulfilled"
    esim = api.get(f"/api/v1/esims/{month}").json()
    current = esim["current_period"]
    assert current["plan"] == CALLS
    assert current["starts_at"] == changed_at.isoformat()
    assert current["ends_at"] == "2026-05-11T00:00:30+00:00"
    assert [a["kind"] for a in current["allowances"]] == ["data", "voice", "sms"]
    [queued] = esim["queued_periods"]
    assert (queued["plan"], queued["starts_at"], queued["ends_at"]) == (
        MONTH, current["ends_at"], "2026-06-11T00:00:30+00:00")
    old = Period.objects.get(sequence=1)
    assert (old.state, old.ends_at) == ("ended", changed_at)
    # Sequences stay in time order: 1 (ended), 2 (the new plan), 3 (the queued month).
    assert list(Period.objects.order_by("starts_at").values_list("sequence", flat=True)) \
        == [1, 2, 3]
    assert SimulatedPlanApplication.objects.filter(starts="now").count() == 1


def test_change_now_keeps_unused_top_up_data(api: Api, month: str) -> None:
    clock.advance(dt.timedelta(days=2))
    pay(api, top_up(api, month, TOPUP_3GB).json())
    Allowance.objects.filter(source="top_up").update(used=1 * GB)
    clock.advance(dt.timedelta(days=1))
    order = change(api, month, CALLS, "now").json()
    pay(api, order)
    esim = api.get(f"/api/v1/esims/{month}").json()
    assert data_of(esim["current_period"]) == 30 * GB + 2 * GB
    assert [(b.total, b.used) for b in Allowance.objects.filter(source="top_up")
            .order_by("id")] == [(1 * GB, 1 * GB), (2 * GB, 0)]


def test_credit_above_the_new_price_is_paid_back_and_no_payment_is_needed(api: Api) -> None:
    clock.set_now(START)
    first = buy_and_pay(api, CALLS)  # USD 29.99
    iccid = first["lines"][0]["iccid"]
    clock.advance(dt.timedelta(days=1))
    quote = preview(api, iccid, DAY, "now").json()
    # 29 of 30 days unused: credit = ceil(2999 * 29/30) = 2900; the day plan costs 2.99.
    assert (quote["credit"]["amount"], quote["charge"]["amount"],
            quote["refund"]["amount"]) == (2900, 0, 2601)
    response = change(api, iccid, DAY, "now", key="cheaper", expected_charge=0,
                      expected_refund=2601)
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["total"]["amount"] == 0
    assert order["payment"] is None
    assert order["status"] == "paid"  # settled without a payment, fulfilment queued
    assert Payment.objects.filter(order__number=order["id"]).count() == 0
    assert AuditEntry.objects.filter(action="order.settled_without_payment").count() == 1
    run_tasks()
    done = api.get(f"/api/v1/orders/{order['id']}").json()
    assert done["status"] == "fulfilled"
    assert done["receipt_url"]
    assert done["lines"][0]["refund"]["amount"] == 2601
    original = api.get(f"/api/v1/orders/{first['id']}").json()
    assert [(r["amount"]["amount"], r["status"]) for r in original["refunds"]] == [
        (2601, "succeeded")]
    assert original["refunded"]["amount"] == 2601
    esim = api.get(f"/api/v1/esims/{iccid}").json()
    assert esim["current_period"]["plan"] == DAY
    # The partial refund is not a cancellation: the new plan runs on.
    assert esim["service"] == "active"
    assert Refund.objects.get().via == "customer"


def test_change_at_period_end_queues_like_a_renewal(api: Api, month: str) -> None:
    buy_and_pay(api, MONTH, iccid=month)  # queued: 1 May - 1 June
    clock.advance(dt.timedelta(days=4))
    quote = preview(api, month, DAY, "period_end").json()
    assert (quote["price"]["amount"], quote["credit"]["amount"], quote["charge"]["amount"],
            quote["refund"]["amount"]) == (299, 0, 299, 0)
    assert quote["starts_at"] == "2026-06-01T00:00:00+00:00"
    assert quote["replaces"] is None
    order = change(api, month, DAY, "period_end").json()
    assert order["total"]["amount"] == 299
    pay(api, order)
    esim = api.get(f"/api/v1/esims/{month}").json()
    assert esim["current_period"]["ends_at"] == "2026-05-01T00:00:00+00:00"
    assert [(q["plan"], q["starts_at"], q["ends_at"]) for q in esim["queued_periods"]] == [
        (MONTH, "2026-05-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00"),
        (DAY, "2026-06-01T00:00:00+00:00", "2026-06-02T00:00:00+00:00")]


def test_plan_change_refusals(api: Api, other_api: Api, month: str) -> None:
    def refused(response: Any, status: int, code: str) -> None:
        assert response.status_code == status, response.content
        assert response.json()["code"] == code
        assert response.json()["message"]

    before = (Order.objects.count(), Period.objects.count())
    refused(change(api, month, "atlantis-1gb", "now"), 404, "unknown_plan")
    refused(change(api, month, DAY, "tomorrow"), 422, "invalid_request")
    refused(change(api, month, DAY, "now", currency="EUR"), 422,
            "plan_change_currency_mismatch")
    refused(preview(api, month, DAY, "now", currency="EUR"), 422,
            "plan_change_currency_mismatch")
    refused(change(api, month, DAY, "now", currency="JPY"), 422,
            "currency_not_available")
    refused(change(other_api, month, DAY, "now"), 404, "unknown_esim")
    refused(change(api, month, DAY, "now", provider="bitcoin"), 422,
            "unknown_provider")
    refused(change(api, month, DAY, "now", expected_charge=1), 409, "price_changed")
    refused(preview(api, month, DAY, "soon"), 422, "invalid_request")
    clock.set_now(dt.datetime(2026, 5, 3, tzinfo=dt.UTC))
    refused(change(api, month, DAY, "now"), 409, "no_active_plan")
    assert (Order.objects.count(), Period.objects.count()) == before
    # At the period end needs nothing running: it starts at once, like a renewal.
    assert change(api, month, DAY, "period_end").status_code == 201


def test_orders_api_does_not_take_plan_change_lines(api: Api, month: str) -> None:
    response = api.post("/api/v1/orders", {"lines": [
        {"type": "plan_change", "iccid": month, "plan": DAY}],
        "currency": "USD"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
