"""Top-ups and plan changes through the portal pages: the numbers shown are the API's and
the amounts charged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB
from esimdesk.core import clock
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment
from esimdesk.subscriptions.models import Allowance, Period
from tests.builders import CALLS, DAY, MONTH, TOPUP_1GB, TOPUP_3GB, TOPUP_CALLS, YEAR, Shop
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay
from tests.e2e.test_journey_portal import pay_in_sandbox

START = dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def traveller(shop: Shop) -> tuple[Api, Client, str]:
    """A customer with a 10 GB / month eSIM bought on 1 April, signed in on the API and the
    portal."""
    clock.set_now(START)
    api = Api.signup("pia@example.com")
    iccid = buy_and_pay(api, MONTH)["lines"][0]["iccid"]
    client = Client()
    client.force_login(User.objects.get(email="pia@example.com"))
    return api, client, iccid


@pytest.mark.django_db
def test_top_up_through_the_portal(traveller: tuple[Api, Client, str]) -> None:
    _api, client, iccid = traveller
    clock.advance(dt.timedelta(days=2))
    assert f"/esims/{iccid}/top-up/" in client.get(f"/esims/{iccid}/").content.decode()
    assert f"/esims/{iccid}/top-up/" in client.get("/dashboard/").content.decode()
    page = client.get(f"/esims/{iccid}/top-up/?currency=USD")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/checkout/?product={TOPUP_3GB}&amp;iccid={iccid}&amp;currency=USD" in html
    assert TOPUP_CALLS not in html  # not for a data-only plan

    preview = client.get(f"/checkout/?product={TOPUP_3GB}&iccid={iccid}&currency=USD")
    assert preview.status_code == 200
    assert preview.context["total"].amount == 1199
    assert preview.context["ends_at"] == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert "$11.99" in preview.content.decode()
    order_url = pay_in_sandbox(client, client.post("/checkout/", {
        "product": TOPUP_3GB, "iccid": iccid, "currency": "USD", "provider": "sandbox",
        "expected_total": "1199", "expected_refund": "0"}))
    run_tasks()
    assert "Top-up of" in client.get(order_url).content.decode()
    order = Order.objects.get(lines__type="top_up")
    assert (order.status, order.total) == ("fulfilled", 1199)
    period = Period.objects.get()
    assert period.ends_at == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert sorted(a.total for a in Allowance.objects.filter(period=period)) == [3 * GB, 10 * GB]


@pytest.mark.django_db
def test_top_up_page_without_a_running_plan_says_renew_first(
        traveller: tuple[Api, Client, str]) -> None:
    _api, client, iccid = traveller
    clock.set_now(dt.datetime(2026, 5, 5, tzinfo=dt.UTC))
    page = client.get(f"/esims/{iccid}/top-up/")
    assert page.status_code == 200
    assert "renew first" in page.content.decode()
    refused = client.get(f"/checkout/?product={TOPUP_1GB}&iccid={iccid}&currency=USD")
    assert refused.status_code == 400
    assert "no plan running" in refused.content.decode()


@pytest.mark.django_db
def test_change_plan_now_through_the_portal_shows_the_api_numbers(
        traveller: tuple[Api, Client, str]) -> None:
    api, client, iccid = traveller
    clock.set_now(dt.datetime(2026, 4, 11, 0, 0, 20, tzinfo=dt.UTC))
    assert f"/esims/{iccid}/change-plan/" in client.get(f"/esims/{iccid}/").content.decode()
    page = client.get(f"/esims/{iccid}/change-plan/?currency=USD")
    assert page.status_code == 200
    [row] = [r for r in page.context["rows"] if r["plan"].code == CALLS]
    quote = api.get(f"/api/v1/esims/{iccid}/plan-change/preview?plan={CALLS}"
                    "&when=now&currency=USD").json()
    assert row["now"].price.amount == quote["charge"]["amount"] == 1866
    assert row["now"].credit.amount == quote["credit"]["amount"] == 1133
    html = page.content.decode()
    assert (f"/checkout/?plan={CALLS}&amp;iccid={iccid}&amp;change=now"
            "&amp;currency=USD") in html

    checkout = client.get(f"/checkout/?plan={CALLS}&iccid={iccid}&change=now"
                          "&currency=USD")
    assert checkout.status_code == 200
    assert checkout.context["total"].amount == quote["charge"]["amount"]
    text = checkout.content.decode()
    assert "$29.99" in text and "−$11.33" in text and "$18.66" in text
    # A price that changed since the page was shown is refused, not charged.
    stale = client.post("/checkout/", {
        "plan": CALLS, "iccid": iccid, "change": "now", "currency": "USD",
        "provider": "sandbox", "expected_total": "1700", "expected_refund": "0"})
    assert stale.status_code == 400
    assert "The price has changed" in stale.content.decode()
    assert not Order.objects.filter(lines__type="plan_change").exists()

    pay_in_sandbox(client, client.post("/checkout/", {
        "plan": CALLS, "iccid": iccid, "change": "now", "currency": "USD",
        "provider": "sandbox", "expected_total": "1866", "expected_refund": "0"}))
    run_tasks()
    order = Order.objects.get(lines__type="plan_change")
    assert (order.status, order.total) == ("fulfilled", 1866)
    assert Payment.objects.get(order=order).amount == 1866
    current = Period.objects.exclude(state__in=["ended", "cancelled"]).get()
    assert current.plan.code == CALLS
    assert current.starts_at == clock.now()


@pytest.mark.django_db
def test_change_plan_covered_by_the_credit_needs_no_payment(
        traveller: tuple[Api, Client, str]) -> None:
    api, client, iccid = traveller
    clock.advance(dt.timedelta(hours=1))
    checkout = client.get(f"/checkout/?plan={DAY}&iccid={iccid}&change=now"
                          "&currency=USD")
    assert checkout.context["total"].amount == 0
    refund = checkout.context["refund"].amount
    assert refund > 0
    assert "nothing to pay" in checkout.content.decode()
    done = client.post("/checkout/", {"plan": DAY, "iccid": iccid, "change": "now",
                                      "currency": "USD", "expected_total": "0",
                                      "expected_refund": str(refund)})
    assert done.status_code == 302
    order = Order.objects.get(lines__type="plan_change")
    assert done["Location"] == f"/orders/{order.number}/"
    assert not order.payments.exists()
    run_tasks()
    order.refresh_from_db()
    assert order.status == "fulfilled"
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "No payment needed" in page
    original = api.get("/api/v1/orders").json()["items"][-1]
    assert original["refunded"]["amount"] == refund


@pytest.mark.django_db
def test_change_plan_at_period_end_through_the_portal(
        traveller: tuple[Api, Client, str]) -> None:
    _api, client, iccid = traveller
    checkout = client.get(f"/checkout/?plan={YEAR}&iccid={iccid}&change=period_end"
                          "&currency=USD")
    assert checkout.context["starts_at"] == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    pay_in_sandbox(client, client.post("/checkout/", {
        "plan": YEAR, "iccid": iccid, "change": "period_end", "currency": "USD",
        "provider": "sandbox"}))
    run_tasks()
    queued = Period.objects.get(sequence=2)
    assert (queued.plan.code, queued.starts_at, queued.state) == (
        YEAR, dt.datetime(2026, 5, 1, tzinfo=dt.UTC), "scheduled")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.django_db
def test_new_pages_render_in_both_languages(traveller: tuple[Api, Client, str],
                                            language: str) -> None:
    _api, client, iccid = traveller
    User.objects.filter(email="pia@example.com").update(language=language)
    client.cookies["esimdesk_language"] = language
    for url in (f"/esims/{iccid}/top-up/", f"/esims/{iccid}/change-plan/",
                f"/checkout/?product={TOPUP_1GB}&iccid={iccid}",
                f"/checkout/?plan={DAY}&iccid={iccid}&change=now",
                f"/checkout/?plan={DAY}&iccid={iccid}&change=period_end"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert ('lang="zh-Hans"' in response.content.decode()) == (language == "zh-hans"), url
