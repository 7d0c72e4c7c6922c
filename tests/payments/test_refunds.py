"""Refunds through the sandbox provider: staff, the customer's policy, the provider's own
dashboard, and out-of-order messages."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.esims.models import Esim
from esimdesk.notifications.models import OutboxMessage
from esimdesk.payments import refunds
from esimdesk.payments.models import Payment, PaymentEvent, Refund
from esimdesk.payments.providers.base import ProviderEvent
from esimdesk.payments.services import apply_event
from esimdesk.sandbox.models import SandboxRecord
from esimdesk.sandbox.payment import sign
from esimdesk.subscriptions.models import Period
from tests.builders import DAY, MONTH, Shop, plan
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay, complete, post_order

START = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def bought(api: Api) -> dict:
    clock.set_now(START)
    return buy_and_pay(api, MONTH, currency="USD")


def staff_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("fin@example.com", "x-long-password-1"))
    return client


def test_customer_refunds_an_unused_plan_and_the_period_ends(api: Api, bought: dict) -> None:
    assert bought["refund_eligible"] is True
    clock.advance(dt.timedelta(hours=1))
    response = api.post(f"/api/v1/orders/{bought['id']}/refund", {},
                        headers={"Idempotency-Key": "refund-1"})
    assert response.status_code == 200
    assert response.json()["refunds"][0]["status"] == "pending"
    again = api.post(f"/api/v1/orders/{bought['id']}/refund", {},
                     headers={"Idempotency-Key": "refund-1"})
    assert again.json() == response.json()
    run_tasks()
    order = api.get(f"/api/v1/orders/{bought['id']}").json()
    [refund] = order["refunds"]
    assert refund["status"] == "succeeded"
    assert order["refunded"]["amount"] == 1699
    assert order["refund_eligible"] is False
    period = Period.objects.get()
    assert period.state == "ended" and period.ends_at == START + dt.timedelta(hours=1)
    assert Esim.objects.get().status == "revoked"
    note = api.get(refund["credit_note_url"].replace("http://testserver", ""))
    assert note["Content-Type"] == "application/pdf"
    mail = OutboxMessage.objects.get(subject__contains="refunded")
    assert mail.attachments[0]["filename"].startswith("esimdesk-credit-note-CN-")
    # A second refund of the same order is refused and changes nothing.
    refused = api.post(f"/api/v1/orders/{bought['id']}/refund", {})
    assert refused.status_code == 409
    assert refused.json()["code"] == "refund_already_refunded"
    assert Refund.objects.count() == 1


def test_no_self_refund_once_installed_or_after_the_window(api: Api, bought: dict) -> None:
    from esimdesk.esims import services as esims

    esim = Esim.objects.get()
    esims.transition(esim=esim, to="installed", actor_type="provider", actor="test")
    response = api.post(f"/api/v1/orders/{bought['id']}/refund", {})
    assert response.json()["code"] == "refund_installed"
    other = buy_and_pay(api, plan(countries=("KR",), usd=299).code)
    clock.advance(dt.timedelta(days=15))
    assert api.post(f"/api/v1/orders/{other['id']}/refund", {}).json()["code"] == \
        "refund_window_passed"
    assert not Refund.objects.exists()


def test_staff_partial_refund_keeps_the_service(api: Api, bought: dict) -> None:
    payment = Payment.objects.get()
    staff = staff_client()
    page = staff.get(f"/staff/payments/{payment.public_id}/refund/")
    assert page.status_code == 200
    too_much = staff.post(f"/staff/payments/{payment.public_id}/refund/",
                          {"amount": "20.00", "reason": "goodwill"})
    assert too_much.status_code == 200 and "more than is left" in too_much.content.decode()
    bad_places = staff.post(f"/staff/payments/{payment.public_id}/refund/",
                            {"amount": "1.5", "reason": "goodwill"})
    assert bad_places.status_code == 302  # 1.50 is fine
    staff.post(f"/staff/payments/{payment.public_id}/refund/",
               {"amount": "5.00", "reason": "slow network in Osaka"})
    run_tasks()
    payment.refresh_from_db()
    assert payment.refunded == 650
    assert Period.objects.get().state == "active"  # a partial refund is goodwill
    history = api.get("/api/v1/orders").json()["items"][0]
    assert [r["amount"]["amount"] for r in history["refunds"]] == [150, 500]
    assert SandboxRecord.objects.filter(kind="refund").count() == 2


def test_staff_without_permission_cannot_refund(api: Api, bought: dict) -> None:
    payment = Payment.objects.get()
    agent = User.objects.create_user("agent@example.com", "x-long-password-1", is_staff=True)
    client = Client()
    client.force_login(agent)
    assert client.get(f"/staff/payments/{payment.public_id}/refund/").status_code == 403
    assert client.post(f"/staff/payments/{payment.public_id}/refund/",
                       {"amount": "1.00", "reason": "x"}).status_code == 403
    assert not Refund.objects.exists()


def test_retrying_the_refund_task_pays_back_once(api: Api, bought: dict) -> None:
    payment = Payment.objects.get()
    refund = refunds.request_refund(payment=payment, amount=Money(1699, "USD"), via="staff",
                                    reason="test", user=None)
    refunds.execute_refund(refund_id=refund.pk)
    # The worker died after the provider refunded but before esimdesk committed: as if the
    # local transaction never happened. The retry must not pay back a second time.
    Refund.objects.filter(pk=refund.pk).update(status="pending", provider_refund_id="",
                                               credit_note_number="")
    Payment.objects.filter(pk=payment.pk).update(refunded=0)
    refunds.execute_refund(refund_id=refund.pk)
    assert SandboxRecord.objects.filter(kind="refund").count() == 1
    payment.refresh_from_db()
    assert payment.refunded == 1699


def test_a_refund_made_at_the_provider_is_recorded(api: Api, bought: dict) -> None:
    payment = Payment.objects.get()
    outcome = apply_event(provider="sandbox", event=ProviderEvent(
        event_id="evt_dashboard_refund", provider_reference=payment.provider_reference,
        type="refunded", amount=Money(300, "USD"), refund_reference="re_dashboard_1"))
    assert outcome == "refund_succeeded"
    refund = Refund.objects.get()
    assert (refund.via, refund.amount, refund.status) == ("provider", 300, "succeeded")


def test_a_refund_that_arrives_before_the_success_is_held_then_applied(api: Api) -> None:
    order = post_order(api, plan(countries=("TH",), usd=199).code)  # a whole 1.99 refunded
    payment = Payment.objects.get()
    early = apply_event(provider="sandbox", event=ProviderEvent(
        event_id="evt_early_refund", provider_reference=payment.provider_reference,
        type="refunded", amount=Money(199, "USD"), refund_reference="re_early"))
    assert early == "held"
    assert not Refund.objects.exists()
    complete(api, order)
    assert PaymentEvent.objects.get(event_id="evt_early_refund").outcome == "refund_succeeded"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded) == ("succeeded", 199)


def test_return_url_reconciles_when_the_webhook_is_lost(api: Api) -> None:
    order = post_order(api, DAY)
    payment = Payment.objects.get()
    from esimdesk.sandbox.payment import SandboxProvider

    SandboxProvider().complete(reference=payment.provider_reference, outcome="approve")
    assert Payment.objects.get().status == "pending"  # the webhook never arrived
    back = api.client.get(f"/pay/return/{payment.public_id}/")
    assert back.status_code == 302 and back["Location"] == f"/orders/{order['id']}/"
    assert Payment.objects.get().status == "succeeded"
    # The webhook shows up late: a different event id, the same fact, nothing changes.
    body = json.dumps(SandboxProvider()._charge_event(
        SandboxRecord.objects.get(kind="charge"))).encode()
    Client().post("/hooks/payments/sandbox", data=body, content_type="application/json",
                  HTTP_X_SANDBOX_SIGNATURE=sign(body, int(clock.now().timestamp())))
    assert PaymentEvent.objects.filter(outcome="succeeded").count() == 1
    assert PaymentEvent.objects.filter(outcome="ignored_succeeded").count() == 1


def test_methods_offered_fit_the_currency(shop: Shop, settings) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox"]}
    client = Client()
    assert client.get("/api/v1/payments/methods?currency=CNY").json() == [
        {"provider": "sandbox", "label": "Test card (sandbox)", "saves_methods": True}]
    for code in ("XYZ", "cny", "CN"):  # ISO 4217 codes, in capitals, as the document says
        refused = client.get(f"/api/v1/payments/methods?currency={code}")
        assert refused.status_code == 422 and refused.json()["code"] == "unsupported_currency"


def test_saved_card_is_remembered_without_card_data(api: Api) -> None:
    from esimdesk.payments.models import SavedMethod

    order = post_order(api, DAY)
    payment = Payment.objects.get()
    page = api.client.post(f"/pay/sandbox/{payment.provider_reference}/",
                           {"outcome": "approve", "card": "4242", "save_card": "on"})
    assert page.status_code == 302
    saved = SavedMethod.objects.get()
    assert saved.label == "Visa •••• 4242"
    assert saved.token.startswith("sbxpm_") and "4242424242424242" not in saved.token
    assert order["id"]


def test_reconciliation_sweep_settles_lost_webhooks_and_expires_walkaways(api: Api) -> None:
    from esimdesk.payments.sweeps import reconcile_payments
    from esimdesk.sandbox.payment import SandboxProvider

    clock.set_now(START)
    paid_order = post_order(api, DAY)
    walked_away = post_order(api, DAY)
    paid = Payment.objects.get(public_id=paid_order["payment"]["id"])
    SandboxProvider().complete(reference=paid.provider_reference, outcome="approve")
    assert reconcile_payments() == {"asked": 0, "settled": 0, "expired": 0, "unreachable": 0}
    clock.advance(dt.timedelta(minutes=5))
    assert reconcile_payments()["settled"] == 1
    assert Payment.objects.get(pk=paid.pk).status == "succeeded"
    clock.advance(dt.timedelta(days=1))
    assert reconcile_payments()["expired"] == 1
    assert Payment.objects.get(public_id=walked_away["payment"]["id"]).status == "cancelled"
    assert reconcile_payments()["asked"] == 0
