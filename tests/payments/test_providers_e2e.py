"""Each real provider, end to end through esimdesk: order over the API, the payer pays at the
provider's local fake, the provider's signed message reaches /hooks/payments/<name> over
HTTP (the test client), the order is fulfilled once; a replay changes nothing, a forgery is
refused and stored nowhere; a refund goes back through the provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from esimdesk.core.money import Money
from esimdesk.esims.models import Esim
from esimdesk.notifications.models import OutboxMessage
from esimdesk.orders.models import Order
from esimdesk.payments import refunds
from esimdesk.payments.models import Payment, PaymentEvent, Refund
from tests.builders import DAY, MONTH, Shop, plan
from tests.conftest import Api, run_tasks
from tests.payments.fakes.alipay import alipay_fake  # noqa: F401
from tests.payments.fakes.paypal import paypal_fake  # noqa: F401
from tests.payments.fakes.stripe import stripe_fake  # noqa: F401
from tests.payments.fakes.wechatpay import wechatpay_fake  # noqa: F401

Message = tuple[bytes, dict[str, str]]


def _stripe_pay(fake: Any, payment: Payment, client: Client) -> Message:
    fake.pay(payment.provider_reference)
    return fake.signed(fake.event("checkout.session.completed"))


def _paypal_pay(fake: Any, payment: Payment, client: Client) -> Message:
    fake.approve(payment.provider_reference)
    # PayPal does not capture by itself: the payer's return captures (through query).
    assert client.get(f"/pay/return/{payment.public_id}/").status_code == 302
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED",
                                 fake.capture_resource(payment.provider_reference))
    return body, headers


def _alipay_pay(fake: Any, payment: Payment, client: Client) -> Message:
    body = fake.pay(payment.provider_reference)
    return body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def _wechat_pay(fake: Any, payment: Payment, client: Client) -> Message:
    headers, body = fake.pay(payment.provider_reference)
    return body, headers


@dataclass(frozen=True)
class Case:
    name: str
    fixture: str
    currency: str
    device: str
    next_action: str
    pay: Callable[[Any, Payment, Client], Message]
    ack: bytes


CASES = [
    Case("stripe", "stripe_fake", "USD", "desktop", "redirect", _stripe_pay,
         b'{"received": true}'),
    Case("paypal", "paypal_fake", "USD", "mobile", "redirect", _paypal_pay,
         b'{"received": true}'),
    Case("alipay", "alipay_fake", "CNY", "desktop", "qr", _alipay_pay, b"success"),
    Case("wechatpay", "wechatpay_fake", "CNY", "mobile", "redirect", _wechat_pay, b""),
]


def _post(body: bytes, headers: dict[str, str], provider: str) -> Any:
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()
             if k.lower() != "content-type"}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"),
                        "application/json")
    return Client().post(f"/hooks/payments/{provider}", data=body, content_type=content_type,
                         **extra)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_provider_end_to_end(case: Case, request: pytest.FixtureRequest, api: Api,
                             settings: Any) -> None:
    fake = request.getfixturevalue(case.fixture)
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox", case.name]}
    settings.PUBLIC_URL = "https://esim.example.com"  # providers want HTTPS callbacks
    methods = api.get(f"/api/v1/payments/methods?currency={case.currency}").json()
    assert case.name in [m["provider"] for m in methods]

    response = api.post("/api/v1/orders", {
        "lines": [{"type": "new_esim", "plan": MONTH}], "currency": case.currency,
        "provider": case.name, "device": case.device})
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["payment"]["next_action"]["type"] == case.next_action
    payment = Payment.objects.get(public_id=order["payment"]["id"])

    body, headers = case.pay(fake, payment, api.client)
    delivered = _post(body, headers, case.name)
    assert delivered.status_code == 200, delivered.content
    if case.ack:
        assert delivered.content == case.ack
    run_tasks()
    stored = Order.objects.get(number=order["id"])
    assert stored.status == "fulfilled"
    assert Esim.objects.count() == 1
    mail = OutboxMessage.objects.get(subject__contains=order["id"])
    assert stored.paid_with.split(" · ")[0] in mail.body_text

    events = PaymentEvent.objects.count()
    replay = _post(body, headers, case.name)
    assert replay.status_code == 200
    assert PaymentEvent.objects.count() == events
    forged = _post(body.replace(b"1", b"2", 1) if b"1" in body else body + b" ", headers,
                   case.name)
    assert forged.status_code == 400
    assert forged.json()["code"] in ("bad_signature", "bad_resource", "stale_signature")
    assert PaymentEvent.objects.count() == events
    run_tasks()
    assert Esim.objects.count() == 1

    payment.refresh_from_db()
    refund = refunds.request_refund(payment=payment, amount=Money(100, payment.currency),
                                    via="staff", reason="goodwill", user=None)
    run_tasks()
    refund.refresh_from_db()
    assert refund.status in (Refund.Status.SUCCEEDED, Refund.Status.PENDING)
    assert refund.provider_refund_id or refund.status == Refund.Status.SUCCEEDED


def test_a_provider_that_refuses_to_start_leaves_nothing_behind(shop: Shop,
        request: pytest.FixtureRequest, api: Api, settings: Any) -> None:
    fake = request.getfixturevalue("wechatpay_fake")
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox", "wechatpay"]}
    settings.PUBLIC_URL = "https://esim.example.com"
    fake.fail_next(status=500)
    response = api.post("/api/v1/orders", {
        "lines": [{"type": "new_esim", "plan": DAY}], "currency": "CNY",
        "provider": "wechatpay", "device": "desktop"})
    assert response.status_code == 503
    assert response.json()["code"] == "provider_unavailable"
    assert not Order.objects.exists() and not Payment.objects.exists()
    settings.PUBLIC_URL = "http://insecure.example.com"  # WeChat refuses plain HTTP callbacks
    refused = api.post("/api/v1/orders", {
        "lines": [{"type": "new_esim", "plan": DAY}], "currency": "CNY",
        "provider": "wechatpay", "device": "desktop"})
    assert refused.status_code == 502
    assert refused.json()["code"] == "provider_refused"
    assert not Order.objects.exists()


def test_a_passing_failure_is_not_replayed_for_the_same_key(shop: Shop,
        request: pytest.FixtureRequest, api: Api, settings: Any) -> None:
    fake = request.getfixturevalue("wechatpay_fake")
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox", "wechatpay"]}
    settings.PUBLIC_URL = "https://esim.example.com"
    body = {"lines": [{"type": "new_esim", "plan": DAY}], "currency": "CNY",
            "provider": "wechatpay", "device": "desktop"}
    fake.fail_next(status=500)
    first = api.post("/api/v1/orders", body, headers={"Idempotency-Key": "wx-1"})
    assert first.status_code == 503
    retry = api.post("/api/v1/orders", body, headers={"Idempotency-Key": "wx-1"})
    assert retry.status_code == 201
    assert retry.json()["payment"]["next_action"]["type"] == "qr"
    assert api.post("/api/v1/orders", body, headers={"Idempotency-Key": "wx-1"}).json() == \
        retry.json()
    assert Order.objects.count() == 1


def test_portal_shows_a_qr_code_on_a_desktop_and_finds_the_payment(
        request: pytest.FixtureRequest, api: Api, settings: Any) -> None:
    fake = request.getfixturevalue("alipay_fake")
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox", "alipay"]}
    settings.PUBLIC_URL = "https://esim.example.com"
    from esimdesk.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="alex@example.com"))
    desktop = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130"}
    china = plan(countries=("CN",), usd=299)
    page = client.get(f"/checkout/?plan={china.code}&currency=CNY", **desktop)
    assert 'value="alipay"' in page.content.decode()
    done = client.post("/checkout/", {"plan": china.code, "currency": "CNY",
                                      "provider": "alipay"}, **desktop)
    order_url = done["Location"]
    assert order_url.startswith("/orders/")
    html = client.get(order_url).content.decode()
    assert "<svg" in html and "/pay/return/" in html
    payment = Payment.objects.get()
    fake.pay(payment.provider_reference)  # scanned and paid; the notify is slow to arrive
    client.get(f"/pay/return/{payment.public_id}/")  # the page's periodic check
    run_tasks()
    assert Order.objects.get().status == "fulfilled"
    html = client.get(order_url).content.decode()
    assert "Alipay 138****8000" in html
