"""The renewal journey through the public API, as a mobile app would walk it."""

from __future__ import annotations

import datetime as dt

from esimdesk.core import clock
from esimdesk.core.ids import ActivationCode, is_valid_iccid
from esimdesk.esims.models import Esim
from esimdesk.notifications.models import OutboxMessage
from esimdesk.orders.models import Order
from esimdesk.payments.models import PaymentEvent
from esimdesk.subscriptions.models import Period
from tests.builders import DAY, MONTH
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay, complete, post_order


def test_sign_up_buy_install_renew_history(api: Api) -> None:
    clock.set_now(dt.datetime(2026, 3, 30, 22, 15, tzinfo=dt.UTC))
    order = buy_and_pay(api, MONTH, currency="USD")
    assert order["status"] == "fulfilled"
    assert order["total"] == {"amount": 1699, "currency": "USD", "decimal": "16.99",
                              "formatted": "$16.99"}
    iccid = order["lines"][0]["iccid"]
    assert is_valid_iccid(iccid)

    esim = api.get(f"/api/v1/esims/{iccid}").json()
    assert esim["status"] == "ready"
    code = ActivationCode.parse(esim["activation_code"])
    assert esim["activation_code"] == f"LPA:1${code.smdp_address}${code.matching_id}"
    assert esim["install"]["smdp_address"] == code.smdp_address
    assert esim["install"]["ios_url"].startswith("https://esimsetup.apple.com/")
    assert esim["service"] == "active"
    first_end = esim["current_period"]["ends_at"]
    # A month from 30 March ends on 30 April at the same instant.
    assert first_end == "2026-04-30T22:15:00+00:00"
    data = esim["current_period"]["allowances"][0]
    assert data == {"kind": "data", "total": 10 * 1024**3, "used": 0,
                    "remaining": 10 * 1024**3, "unit": "bytes"}

    qr = api.get(f"/api/v1/esims/{iccid}/qr.svg")
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    assert b"<svg" in qr.content

    # Renew ten days later, before expiry: the new period starts exactly at the old end.
    clock.advance(dt.timedelta(days=10))
    renewal = buy_and_pay(api, MONTH, currency="USD", iccid=iccid)
    assert renewal["status"] == "fulfilled"
    esim = api.get(f"/api/v1/esims/{iccid}").json()
    assert esim["current_period"]["ends_at"] == first_end
    [queued] = esim["queued_periods"]
    assert queued["starts_at"] == first_end
    assert queued["ends_at"] == "2026-05-30T22:15:00+00:00"
    assert esim["valid_until"] == queued["ends_at"]

    history = api.get("/api/v1/orders").json()
    assert history["count"] == 2
    assert [(o["id"], o["total"]["amount"], o["total"]["currency"]) for o in history["items"]] \
        == [(renewal["id"], 1699, "USD"), (order["id"], 1699, "USD")]
    assert all(o["paid_with"].endswith("Visa •••• 4242") for o in history["items"])

    receipt = api.get(f"/api/v1/orders/{order['id']}/receipt")
    assert receipt.status_code == 200
    assert receipt["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")

    mails = OutboxMessage.objects.filter(to="alex@example.com", subject__contains="ED-")
    assert mails.count() == 2
    assert all(m.attachments[0]["mimetype"] == "application/pdf" for m in mails)


def test_renewal_after_expiry_starts_now(api: Api) -> None:
    clock.set_now(dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC))
    order = buy_and_pay(api, DAY)
    iccid = order["lines"][0]["iccid"]
    clock.advance(dt.timedelta(days=3))
    renewed_at = clock.now()
    buy_and_pay(api, DAY, iccid=iccid)
    esim = api.get(f"/api/v1/esims/{iccid}").json()
    assert esim["current_period"]["starts_at"] == renewed_at.isoformat()
    assert esim["queued_periods"] == []


def test_decline_provisions_nothing_and_pay_again_works(api: Api) -> None:
    order = post_order(api, MONTH, currency="EUR")
    payment = complete(api, order, "decline", "insufficient_funds")
    assert payment["status"] == "declined"
    assert payment["failure_code"] == "insufficient_funds"
    assert payment["failure_message"]
    run_tasks()
    assert not Esim.objects.exists()
    current = api.get(f"/api/v1/orders/{order['id']}").json()
    assert current["status"] == "awaiting_payment"

    again = api.post(f"/api/v1/orders/{order['id']}/payments", {"provider": "sandbox"})
    assert again.status_code == 201
    new_payment = again.json()
    assert new_payment["id"] != order["payment"]["id"]
    assert new_payment["next_action"]["type"] == "redirect"
    complete(api, {"payment": new_payment})
    run_tasks()
    done = api.get(f"/api/v1/orders/{order['id']}").json()
    assert done["status"] == "fulfilled"
    assert Esim.objects.count() == 1


def test_replayed_completion_fulfils_once(api: Api) -> None:
    order = post_order(api, DAY)
    first = complete(api, order)
    assert first["status"] == "succeeded"
    # The payer presses approve again, the app retries, and a decline arrives late.
    assert complete(api, order)["status"] == "succeeded"
    assert complete(api, order, "decline")["status"] == "succeeded"
    run_tasks()
    run_tasks()
    assert Esim.objects.count() == 1
    assert Period.objects.count() == 1
    assert PaymentEvent.objects.count() == 1
    assert Order.objects.get(number=order["id"]).status == "fulfilled"
    assert OutboxMessage.objects.filter(subject__contains=order["id"]).count() == 1


def test_idempotency_key_replays_the_first_answer(api: Api) -> None:
    first = post_order(api, DAY, key="retry-me-1")
    again = post_order(api, DAY, key="retry-me-1")
    assert again == first
    assert Order.objects.count() == 1
    different = api.post("/api/v1/orders", {"lines": [{"type": "new_esim", "plan": MONTH}],
                                            "currency": "USD"},
                         headers={"Idempotency-Key": "retry-me-1"})
    assert different.status_code == 409
    assert different.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_label_and_auto_renew(api: Api) -> None:
    iccid = buy_and_pay(api, DAY)["lines"][0]["iccid"]
    response = api.patch(f"/api/v1/esims/{iccid}", {"label": "  Work   phone ",
                                                     "auto_renew": True})
    assert response.status_code == 200
    assert response.json()["label"] == "Work phone"
    assert response.json()["auto_renew"] is True
    too_long = api.patch(f"/api/v1/esims/{iccid}", {"label": "x" * 61})
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "label_too_long"
