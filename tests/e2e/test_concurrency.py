"""Races, with real parallel HTTP requests against a live server (PostgreSQL only: SQLite
serialises writers, so it cannot show these races)."""

from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment, PaymentEvent
from esimdesk.subscriptions.models import Period
from tests.builders import DAY, Shop
from tests.conftest import mailed_key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Http:
    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "X-Session-Token": self.token,
                     **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def signup(self, email: str) -> None:
        status, body = self.call("POST", "/_allauth/app/v1/auth/signup",
                                 {"email": email, "password": "correct-horse-battery-42"})
        self.token = body["meta"]["session_token"]
        if status == 401:  # sign-up confirms the address: the mailed link's key
            status, body = self.call("POST", "/_allauth/app/v1/auth/email/verify",
                                     {"key": mailed_key(email)})
        assert status == 200, body
        self.token = body["meta"]["session_token"]


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Start every call at the same instant, each on its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.fixture
def http(live_server: Any, shop: Shop) -> Http:
    client = Http(live_server.url)
    client.signup("racer@example.com")
    return client


def _order(http: Http, line: dict[str, Any]) -> dict[str, Any]:
    status, order = http.call("POST", "/api/v1/orders", {"lines": [line], "currency": "USD",
                                                         "provider": "sandbox"})
    assert status == 201, order
    return order


def _approve(http: Http, order: dict[str, Any]) -> tuple[int, Any]:
    return http.call("POST", f"/api/v1/payments/sandbox/{order['payment']['id']}/complete",
                     {"outcome": "approve"})


def test_two_concurrent_renewals_give_back_to_back_periods(http: Http) -> None:
    first = _order(http, {"type": "new_esim", "plan": DAY})
    assert _approve(http, first)[0] == 200
    orders.fulfil_order(order_id=Order.objects.get(number=first["id"]).pk)
    iccid = Order.objects.get(number=first["id"]).lines.get().esim.iccid

    renewals = [_order(http, {"type": "renewal", "plan": DAY, "iccid": iccid})
                for _ in range(2)]
    results = in_parallel(*(lambda o=o: _approve(http, o) for o in renewals))
    assert [status for status, _ in results] == [200, 200]
    ids = [Order.objects.get(number=o["id"]).pk for o in renewals]
    in_parallel(*(lambda pk=pk: orders.fulfil_order(order_id=pk) for pk in ids))

    periods = list(Period.objects.filter(subscription__esim__iccid=iccid).order_by("sequence"))
    assert [p.sequence for p in periods] == [1, 2, 3]
    for earlier, later in itertools.pairwise(periods):
        assert later.starts_at == earlier.ends_at
    for pk in ids:
        assert Order.objects.get(pk=pk).status == "fulfilled"
        assert Payment.objects.filter(order_id=pk, status="succeeded").count() == 1
    assert PaymentEvent.objects.count() == 3


def test_simultaneous_duplicate_completions_fulfil_once(http: Http) -> None:
    order = _order(http, {"type": "new_esim", "plan": DAY})
    results = in_parallel(*(lambda: _approve(http, order) for _ in range(4)))
    assert {status for status, _ in results} == {200}
    assert PaymentEvent.objects.count() == 1
    pk = Order.objects.get(number=order["id"]).pk
    in_parallel(*(lambda: orders.fulfil_order(order_id=pk) for _ in range(3)))
    assert Period.objects.count() == 1
    assert Order.objects.get(pk=pk).lines.get().esim is not None


def test_same_idempotency_key_in_parallel_creates_one_order(http: Http) -> None:
    body = {"lines": [{"type": "new_esim", "plan": DAY}], "currency": "USD",
            "provider": "sandbox"}
    results = in_parallel(*(lambda: http.call("POST", "/api/v1/orders", body,
                                               {"Idempotency-Key": "same-key"})
                            for _ in range(4)))
    assert {status for status, _ in results} == {201}
    assert len({answer["id"] for _, answer in results}) == 1
    assert Order.objects.count() == 1


def test_twenty_webhooks_and_twenty_returns_fulfil_once(http: Http) -> None:
    from esimdesk.notifications.models import OutboxMessage
    from esimdesk.orders.models import Receipt
    from esimdesk.sandbox.payment import SandboxProvider
    from tests.conftest import run_tasks

    order = _order(http, {"type": "new_esim", "plan": DAY})
    payment = Payment.objects.get(public_id=order["payment"]["id"])
    body, headers = SandboxProvider().complete(reference=payment.provider_reference,
                                               outcome="approve")

    def webhook() -> int:
        request = urllib.request.Request(http.base + "/hooks/payments/sandbox", data=body,
                                         method="POST",
                                         headers={"Content-Type": "application/json",
                                                  **headers})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status

    def come_back() -> int:
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(f"{http.base}/pay/return/{payment.public_id}/", timeout=30)
        except urllib.error.HTTPError as error:
            return error.code
        return 200

    results = in_parallel(*([webhook] * 20 + [come_back] * 20))
    assert results == [200] * 20 + [302] * 20
    assert PaymentEvent.objects.filter(outcome="succeeded").count() == 1
    pk = Order.objects.get(number=order["id"]).pk
    in_parallel(*(lambda: orders.fulfil_order(order_id=pk) for _ in range(4)))
    run_tasks()
    assert Period.objects.count() == 1
    assert Receipt.objects.filter(order_id=pk).count() == 1
    assert OutboxMessage.objects.filter(subject__contains=order["id"]).count() == 1


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
