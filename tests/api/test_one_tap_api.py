"""``POST /api/v1/orders`` with ``payment_method``: one tap over the API."""

from __future__ import annotations

from typing import Any

import pytest

from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment, SavedMethod
from esimdesk.sandbox.models import SandboxRecord
from esimdesk.sandbox.payment import SandboxProvider
from tests.builders import MONTH, TOPUP_1GB
from tests.conftest import Api, run_tasks


def saved_card(api: Api, card: str = "4242") -> tuple[int, str]:
    """Buy an eSIM asking to keep the card; returns the saved method's id and the ICCID."""
    created = api.post("/api/v1/orders", {"lines": [{"type": "new_esim", "plan": MONTH}],
                                          "currency": "USD", "provider": "sandbox",
                                          "save_method": True})
    assert created.status_code == 201, created.content
    done = api.post(f"/api/v1/payments/sandbox/{created.json()['payment']['id']}/complete",
                    {"outcome": "approve", "card": card})
    assert done.status_code == 200, done.content
    run_tasks()
    [method] = api.get("/api/v1/payments/saved-methods").json()
    assert method["label"] == f"Visa •••• {card}"
    order = api.get(f"/api/v1/orders/{created.json()['id']}").json()
    return method["id"], order["lines"][0]["iccid"]


def renew(api: Api, iccid: str, method: Any, key: str | None = None) -> Any:
    return api.post("/api/v1/orders", {
        "lines": [{"type": "renewal", "iccid": iccid, "plan": MONTH}], "currency": "USD",
        "payment_method": method}, headers={"Idempotency-Key": key} if key else None)


def test_the_sandbox_completion_keeps_the_card_when_the_order_asked(api: Api) -> None:
    method, _iccid = saved_card(api)
    assert SavedMethod.objects.get(pk=method).provider == "sandbox"


def test_one_tap_renewal_and_top_up(api: Api) -> None:
    method, iccid = saved_card(api)
    response = renew(api, iccid, method, key="tap-1")
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "paid"
    assert order["payment"]["status"] == "succeeded"
    assert order["payment"]["method"] == "Visa •••• 4242"
    assert order["payment"]["next_action"]["type"] == "none"
    assert renew(api, iccid, method, key="tap-1").json() == order  # replayed, not charged
    assert SandboxRecord.objects.filter(kind="charge").count() == 2
    top_up = api.post("/api/v1/orders", {
        "lines": [{"type": "top_up", "iccid": iccid, "product": TOPUP_1GB}],
        "currency": "USD", "payment_method": method})
    assert top_up.status_code == 201 and top_up.json()["payment"]["status"] == "succeeded"
    run_tasks()
    assert api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "fulfilled"


def test_when_the_bank_wants_the_payer_the_answer_redirects_with_the_same_order(
        api: Api) -> None:
    method, iccid = saved_card(api, card="3155")
    response = renew(api, iccid, method)
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "awaiting_payment"
    assert order["payment"]["status"] == "pending"
    assert order["payment"]["next_action"]["type"] == "redirect"
    assert "/pay/sandbox/" in order["payment"]["next_action"]["url"]
    declined = order["payments"][0]
    assert (declined["status"], declined["failure_code"]) == ("declined",
                                                              "authentication_required")
    done = api.post(f"/api/v1/payments/sandbox/{order['payment']['id']}/complete",
                    {"outcome": "approve", "card": "3155"})
    assert done.status_code == 200
    run_tasks()
    assert api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "fulfilled"
    assert Order.objects.filter(lines__type="renewal").count() == 1


def test_another_users_method_is_404_with_a_code(api: Api, other_api: Api) -> None:
    theirs, _ = saved_card(other_api)
    _mine, iccid = saved_card(api)
    before = Order.objects.count()
    response = renew(api, iccid, theirs)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_saved_method"
    assert response.json()["message"]
    assert Order.objects.count() == before


def test_a_method_that_cannot_be_charged_off_session_is_422(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    method, iccid = saved_card(api)
    monkeypatch.setattr(SandboxProvider, "supports_saved_methods", False)
    response = renew(api, iccid, method)
    assert (response.status_code, response.json()["code"]) == (
        422, "saved_method_not_chargeable")
    assert not Payment.objects.filter(off_session=True).exists()


@pytest.mark.parametrize("value", [0, -1, "x", 2**63])
def test_a_malformed_method_id_is_422(api: Api, value: Any) -> None:
    response = renew(api, "8999000000000000000", value)
    assert response.status_code in (400, 422)
    assert response.json()["code"]


def test_chinese_refusal(api: Api, other_api: Api) -> None:
    theirs, _ = saved_card(other_api)
    _mine, iccid = saved_card(api)
    api.language = "zh-hans"
    response = renew(api, iccid, theirs)
    assert response.json()["message"] == "您的账户中没有这个已保存的支付方式。"
