"""The sandbox provider's signed webhook: verified first, applied exactly once."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment, PaymentEvent
from esimdesk.sandbox.payment import SIGNATURE_HEADER, SandboxProvider, sign
from tests.builders import DAY
from tests.conftest import Api
from tests.e2e.helpers import post_order


def post(body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    response = Client().post("/hooks/payments/sandbox", data=body,
                             content_type="application/json", **extra)
    return response.status_code, response.json()


@pytest.fixture
def payment(api: Api) -> Payment:
    post_order(api, DAY)
    return Payment.objects.get()


def message(payment: Payment, outcome: str = "approve", amount: Money | None = None):
    """The signed message the sandbox sends (optionally claiming another amount)."""
    body, headers = SandboxProvider().complete(reference=payment.provider_reference,
                                               outcome=outcome)
    if amount is None:
        return body, headers
    data = json.loads(body)
    data.update(amount=amount.amount, currency=amount.currency)
    raw = json.dumps(data).encode()
    return raw, {SIGNATURE_HEADER: sign(raw, int(clock.now().timestamp()))}


def test_signed_message_is_applied_once_and_replays_answer_200(payment: Payment) -> None:
    body, headers = message(payment)
    assert post(body, headers) == (200, {"received": True})
    assert post(body, headers) == (200, {"received": True})
    assert PaymentEvent.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert Order.objects.get().status == "paid"


@pytest.mark.parametrize("tamper", ["body", "signature", "missing", "stale"])
def test_forged_or_stale_messages_change_nothing(payment: Payment, tamper: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    body, headers = message(payment)
    if tamper == "body":
        body = body.replace(b'"amount": 299', b'"amount": 1')
    elif tamper == "signature":
        headers = {SIGNATURE_HEADER: headers[SIGNATURE_HEADER][:-2] + "00"}
    elif tamper == "missing":
        headers = {}
    else:
        old = int((clock.now() - dt.timedelta(hours=1)).timestamp())
        headers = {SIGNATURE_HEADER: sign(body, old)}
    status, answer = post(body, headers)
    assert status == 400
    assert answer["code"] in ("bad_signature", "stale_signature")
    assert not PaymentEvent.objects.exists()
    assert f"webhook from sandbox refused: {answer['code']}" in caplog.text
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_amount_mismatch_is_recorded_but_does_not_pay(payment: Payment) -> None:
    body, headers = message(payment, amount=Money(1, "USD"))
    assert post(body, headers) == (200, {"received": True})
    assert PaymentEvent.objects.get().outcome == "amount_mismatch"
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert Order.objects.get().status == "awaiting_payment"


def test_a_decline_after_success_does_not_undo_it(payment: Payment) -> None:
    body, headers = message(payment)
    post(body, headers)
    decline = json.loads(body)
    decline.update(id="evt_late_decline", type="payment.declined")
    raw = json.dumps(decline).encode()
    assert post(raw, {SIGNATURE_HEADER: sign(raw, int(clock.now().timestamp()))})[0] == 200
    assert PaymentEvent.objects.get(event_id="evt_late_decline").outcome == "ignored_succeeded"
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert PaymentEvent.objects.count() == 2


def test_a_superseded_attempt_paid_late_still_pays_and_the_second_is_refunded(
        api: Api, payment: Payment) -> None:
    from esimdesk.payments.models import Refund
    from tests.conftest import run_tasks

    number = payment.order.number
    assert api.post(f"/api/v1/orders/{number}/payments", {"provider": "sandbox"}).status_code \
        == 201
    payment.refresh_from_db()
    assert payment.status == "cancelled"
    newer = Payment.objects.exclude(pk=payment.pk).get()
    post(*message(payment))  # the payer finished the first attempt after all
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert Order.objects.get().status == "paid"
    newer.refresh_from_db()
    assert newer.status == "cancelled"
    post(*message(newer))  # ... and then the second one too: money arrived twice
    newer.refresh_from_db()
    assert newer.status == "duplicate"
    run_tasks()
    refund = Refund.objects.get(payment=newer)
    assert (refund.status, refund.amount) == ("succeeded", newer.amount)
    assert Payment.objects.get(pk=newer.pk).refunded == newer.amount


def test_unknown_provider_and_unknown_payment(db: None) -> None:
    response = Client().post("/hooks/payments/nonesuch", data=b"{}",
                             content_type="application/json")
    assert response.status_code == 404


def _signed(raw: bytes) -> tuple[bytes, dict[str, str]]:
    return raw, {SIGNATURE_HEADER: sign(raw, int(clock.now().timestamp()))}


def _completion(payment: Payment, **changes: object) -> bytes:
    body, _ = SandboxProvider().complete(reference=payment.provider_reference,
                                         outcome="approve")
    data = json.loads(body)
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


@pytest.mark.parametrize("malformed", [
    "[]", "null", "12", '"text"', "not json",
    {"amount": []}, {"amount": 1e30}, {"amount": 10**30}, {"amount": "1299"},
    {"amount": True}, {"amount": -1}, {"amount": 12.5}, {"currency": ["USD"]},
    {"currency": "usd"}, {"currency": "U1D"}, {"reference": None}, {"reference": ...},
    {"id": 7}, {"id": ""}, {"id": "e" * 201}, {"method": {"card": 1}},
    {"saved_token": []},
])
def test_signed_but_malformed_messages_are_refused_and_change_nothing(
        payment: Payment, malformed: object) -> None:
    """A correct signature proves who sent a message, not that its content is sound: each
    of these used to be a 500 (or a failed insert) and is a 400 ``malformed_event`` now."""
    raw = (malformed.encode() if isinstance(malformed, str)
           else _completion(payment, **malformed))  # type: ignore[arg-type]
    status, body = post(*_signed(raw))
    assert (status, body["code"]) == (400, "malformed_event")
    assert not PaymentEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_the_unmodified_message_still_pays(payment: Payment) -> None:
    """The same helper, nothing changed: the refusals above are about the content."""
    assert post(*_signed(_completion(payment)))[0] == 200
    payment.refresh_from_db()
    assert payment.status == "succeeded"
