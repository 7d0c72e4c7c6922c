"""Journey steps shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, run_tasks


def post_order(api: Api, plan: str, *, currency: str = "USD", iccid: str | None = None,
               key: str | None = None) -> dict[str, Any]:
    """``POST /api/v1/orders`` of one new eSIM (or, with ``iccid``, a renewal), as the app
    places it: the API step of a journey. Tests that only need an order bought use
    ``tests.builders.buy``."""
    line = {"type": "renewal", "plan": plan, "iccid": iccid} if iccid else {
        "type": "new_esim", "plan": plan}
    headers = {"Idempotency-Key": key} if key else None
    response = api.post("/api/v1/orders", {"lines": [line], "currency": currency,
                                           "provider": "sandbox"}, headers=headers)
    assert response.status_code == 201, response.content
    return response.json()


def complete(api: Api, order: dict[str, Any], outcome: str = "approve",
             decline_code: str = "card_declined") -> dict[str, Any]:
    response = api.post(f"/api/v1/payments/sandbox/{order['payment']['id']}/complete",
                        {"outcome": outcome, "decline_code": decline_code})
    assert response.status_code == 200, response.content
    return response.json()


def buy_and_pay(api: Api, plan: str, **kw: Any) -> dict[str, Any]:
    order = post_order(api, plan, **kw)
    complete(api, order)
    run_tasks()
    response = api.get(f"/api/v1/orders/{order['id']}")
    assert response.status_code == 200
    return response.json()
