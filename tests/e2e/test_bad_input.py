"""Bad input gets a 4xx with a machine-readable code and a translated message, and changes
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from esimdesk.core.models import AuditEntry
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment
from tests.conftest import Api
from tests.e2e.helpers import buy_and_pay


def _counts() -> tuple[int, int, int]:
    return Order.objects.count(), Payment.objects.count(), AuditEntry.objects.count()


def order(lines: list[dict[str, Any]], currency: str = "USD", **extra: Any) -> dict[str, Any]:
    return {"lines": lines, "currency": currency, "provider": "sandbox", **extra}


@pytest.mark.parametrize(("body", "status", "code"), [
    (order([{"type": "new_esim", "plan": "atlantis-1gb"}]), 404, "unknown_plan"),
    (order([{"type": "new_esim", "plan": "jp-1gb-day"}], "XYZ"), 422, "unsupported_currency"),
    (order([{"type": "new_esim", "plan": "jp-1gb-day"}], "JPY"), 422, "currency_not_available"),
    (order([{"type": "new_esim"}]), 422, "plan_required"),
    (order([{"type": "renewal", "plan": "jp-1gb-day"}]), 422, "iccid_required"),
    (order([{"type": "renewal", "plan": "jp-1gb-day", "iccid": "12345"}]), 404, "unknown_esim"),
    (order([{"type": "top_up", "product": "jp-extra-1gb"}]), 404, "unknown_product"),
    (order([{"type": "top_up", "product": "topup-1gb"}]), 422, "iccid_required"),
    (order([{"type": "top_up", "iccid": "12345"}]), 422, "product_required"),
    (order([{"type": "teleport", "plan": "jp-1gb-day"}]), 422, "invalid_request"),
    (order([]), 422, "invalid_request"),
    (order([{"type": "new_esim", "plan": "jp-1gb-day"}], provider="bitcoin"), 422,
     "unknown_provider"),
    ({"currency": "USD"}, 422, "invalid_request"),
])
def test_bad_orders_are_refused_and_change_nothing(api: Api, body: dict[str, Any], status: int,
                                                  code: str) -> None:
    before = _counts()
    response = api.post("/api/v1/orders", body)
    assert response.status_code == status, response.content
    error = response.json()
    assert error["code"] == code
    assert error["message"]
    assert _counts() == before


def test_someone_elses_iccid_looks_unknown(api: Api, other_api: Api) -> None:
    iccid = buy_and_pay(other_api, "jp-1gb-day")["lines"][0]["iccid"]
    before = _counts()
    for response in (
        api.get(f"/api/v1/esims/{iccid}"),
        api.get(f"/api/v1/esims/{iccid}/qr.svg"),
        api.patch(f"/api/v1/esims/{iccid}", {"label": "mine now"}),
        api.post("/api/v1/orders", order([{"type": "renewal", "plan": "jp-1gb-day",
                                           "iccid": iccid}])),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_esim"
    assert _counts() == before


def test_someone_elses_order_and_payment_look_unknown(api: Api, other_api: Api) -> None:
    theirs = other_api.post("/api/v1/orders", order([{"type": "new_esim",
                                                      "plan": "jp-1gb-day"}])).json()
    assert api.get(f"/api/v1/orders/{theirs['id']}").json()["code"] == "unknown_order"
    response = api.post(f"/api/v1/payments/sandbox/{theirs['payment']['id']}/complete",
                        {"outcome": "approve"})
    assert response.status_code == 404
    assert Payment.objects.get().status == "pending"


def test_malformed_json(api: Api) -> None:
    before = _counts()
    response = api.post("/api/v1/orders", raw=b'{"lines": [')
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert _counts() == before


def test_messages_follow_the_request_language(catalog: None) -> None:
    api = Api.signup("wang@example.com", language="zh-hans")
    response = api.post("/api/v1/orders", order([{"type": "new_esim", "plan": "nope"}]))
    assert response.json() == {"code": "unknown_plan", "message": "没有这个套餐。",
                               "detail": {"plan": "nope", "line": 0}}


def test_without_a_session_token(catalog: None) -> None:
    response = Api(Api.signup("x@example.com").client).get("/api/v1/esims")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_unknown_country_in_catalog(catalog: None) -> None:
    response = Api(Api.signup("y@example.com").client).get("/api/v1/plans?country=AQ")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_country"
