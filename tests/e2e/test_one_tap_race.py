"""One tap under real parallel requests (PostgreSQL only: SQLite serialises writers): two
"Pay now" at the same instant — a double click, two tabs, an app retrying — charge once."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.test import Client

from esimdesk.orders.models import Order
from esimdesk.orders.services import LineRequest
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment, SavedMethod
from esimdesk.sandbox.models import SandboxRecord
from tests import builders
from tests.builders import MONTH, Shop
from tests.conftest import Api, run_tasks, verified_email
from tests.e2e.test_concurrency import Http, in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def card_holder(email: str) -> tuple[Any, Any]:
    user = builders.user(email)
    verified_email(user)
    placed = checkout.place_order(user=user, currency="USD", method="sandbox", save_method=True,
                                  lines=[LineRequest(type="new_esim", plan=MONTH)])
    assert placed.payment is not None
    payments.complete_sandbox_payment(user=user, payment_id=placed.payment.public_id,
                                      outcome="approve")
    run_tasks()
    return user, placed.order.lines.get().esim


def charges() -> int:
    return SandboxRecord.objects.filter(kind="charge").count()


def test_two_api_requests_with_the_same_key_charge_once(live_server: Any, shop: Shop) -> None:
    http = Http(live_server.url)
    http.signup("race-api@example.com")
    api = Api(Client(), http.token)
    created = api.post("/api/v1/orders", {"lines": [{"type": "new_esim", "plan": MONTH}],
                                          "currency": "USD", "provider": "sandbox",
                                          "save_method": True}).json()
    api.post(f"/api/v1/payments/sandbox/{created['payment']['id']}/complete",
             {"outcome": "approve"})
    run_tasks()
    method = SavedMethod.objects.get(user__email="race-api@example.com")
    iccid = Order.objects.get(number=created["id"]).lines.get().esim.iccid
    body = {"lines": [{"type": "renewal", "iccid": iccid, "plan": MONTH}], "currency": "USD",
            "payment_method": method.pk}
    before = charges()

    results = in_parallel(*(lambda: http.call("POST", "/api/v1/orders", body,
                                               {"Idempotency-Key": "tap-race"})
                            for _ in range(4)))

    assert {status for status, _ in results} == {201}, results
    assert len({answer["id"] for _, answer in results}) == 1
    assert {answer["payment"]["status"] for _, answer in results} == {"succeeded"}
    assert charges() == before + 1
    assert Payment.objects.filter(off_session=True).count() == 1


def test_two_taps_on_the_portal_page_charge_once(live_server: Any, shop: Shop) -> None:
    user, esim = card_holder("race-page@example.com")
    client = Client()
    client.force_login(user)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    url = f"{live_server.url}/esims/{esim.iccid}/renew/confirm/?currency=USD"
    page = requests.get(url, cookies=cookies, timeout=30)
    assert page.status_code == 200
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    cookies["csrftoken"] = page.cookies.get("csrftoken") or requests.get(
        url, cookies=cookies, timeout=30).cookies["csrftoken"]
    before = charges()

    def tap() -> int:
        response = requests.post(url, data=form, cookies=cookies, allow_redirects=False,
                                 headers={"Referer": url}, timeout=60)
        return response.status_code

    results = in_parallel(tap, tap, tap)

    assert results == [302, 302, 302]
    assert charges() == before + 1
    assert Order.objects.filter(user=user, lines__type="renewal").count() == 1
    assert Payment.objects.filter(order__user=user, off_session=True).count() == 1
