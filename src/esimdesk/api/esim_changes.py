"""Top-ups and plan changes of one eSIM over the API. Every amount here comes from
``orders.services.price_lines``, the function that prices the order, so a preview is the
amount charged. Buying a top-up is ``POST /api/v1/orders`` with a ``top_up`` line.

No ``from __future__ import annotations``: ninja reads the annotations of the paginated view
at import time, outside this module."""

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from esimdesk.catalog import queries as catalog
from esimdesk.core.api.auth import customer_auth
from esimdesk.core.api.schemas import (
    INT64_MAX,
    PLAN_CODE,
    PROVIDER,
    BodyIn,
    Currency,
    ErrorOut,
    IccidPath,
    IdempotencyKey,
    MoneyOut,
    Pagination,
    money_out,
)
from esimdesk.core.http import client_ip
from esimdesk.core.money import Money, check_currency
from esimdesk.core.units import UNITS
from esimdesk.esims import services as esims
from esimdesk.orders import queries as order_queries
from esimdesk.orders import services as orders
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.topups import no_active_plan, subscription_of
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.api import REPLAYED, once
from esimdesk.payments.schemas import OrderOut, order_out
from esimdesk.subscriptions import changes

router = Router(tags=["esims"], auth=customer_auth)


class QuantityOut(Schema):
    kind: str
    total: int
    unit: str


class TopUpOut(Schema):
    code: str
    name: str
    description: str
    allowances: list[QuantityOut] = Field(..., description="what it adds")
    extends_validity_days: int = Field(..., description="days added to the period's end")
    price: MoneyOut
    ends_at: str | None = Field(..., description="when what it adds expires: the end of the "
                                                 "period running now, after any extension; "
                                                 "null when the plan waits for first use "
                                                 "(the top-up waits with it)")


@router.get("/esims/{iccid}/top-ups", response={200: list[TopUpOut], 404: ErrorOut,
                                                 409: ErrorOut},
            summary="Top-ups for this eSIM")
@paginate(Pagination, page_size=50)
def list_top_ups(request: HttpRequest, iccid: IccidPath,
                 currency: Currency | None = None) -> list[dict[str, Any]]:
    """The top-ups that fit the plan running on this eSIM, priced in ``currency`` (default:
    the customer's). A top-up adds a separate bucket to the running period and expires with
    it, unless it extends the period (``extends_validity_days``). Buy one with
    ``POST /api/v1/orders`` and a line ``{"type":"top_up","iccid","product"}``. 409
    ``no_active_plan`` when no plan runs (renew first)."""
    user = request.auth  # type: ignore[attr-defined]
    code = check_currency(currency or user.preferred_currency)
    esim = esims.get_for_owner(user=user, iccid=iccid)
    period = changes.topped_up_period(subscription_of(esim))
    if period is None:
        raise no_active_plan()
    items = []
    for product in catalog.top_ups_for(period.plan):
        if product.price_in(code) is None:
            continue
        [priced] = orders.price_lines(user=user, currency=code, lines=[
            LineRequest(type="top_up", iccid=esim.iccid, product=product.code)])
        items.append({
            "code": product.code, "name": product.name, "description": product.description,
            "allowances": [{"kind": k, "total": t, "unit": UNITS[k]}
                           for k, t in product.allowances()],
            "extends_validity_days": product.extends_validity_days,
            "price": money_out(priced.price),
            "ends_at": priced.ends_at.isoformat() if priced.ends_at else None,
        })
    return items


class ReplacedOut(Schema):
    sequence: int
    plan: str
    starts_at: str
    ends_at: str
    paid: MoneyOut = Field(..., description="what was paid for it (the credit's base)")
    unused: str = Field(..., description="unused share by the policy, an exact fraction")


class PlanChangePreviewOut(Schema):
    iccid: str
    plan: str
    plan_name: str
    when: str
    price: MoneyOut = Field(..., description="the new plan's price")
    credit: MoneyOut = Field(..., description="for the unused part of the current period")
    charge: MoneyOut = Field(..., description="to pay now: max(0, price - credit)")
    refund: MoneyOut = Field(..., description="paid back to the original payment: "
                                              "max(0, credit - price)")
    starts_at: str | None = Field(..., description="null when the new plan is queued behind "
                                                   "one that waits for first use")
    ends_at: str | None
    replaces: ReplacedOut | None = Field(..., description="when=now: the period that ends now")
    policy: str | None = Field(..., description="time | data | min (when=now)")
    priced_at: str | None = Field(..., description="the instant the credit is computed for; "
                                                   "the same amounts apply until the next "
                                                   "minute")


class PlanChangeIn(BodyIn):
    plan: str = Field(..., min_length=1, max_length=PLAN_CODE)
    when: Literal["now", "period_end"]
    currency: Currency
    provider: str = Field("sandbox", max_length=PROVIDER, examples=["sandbox"])
    device: Literal["desktop", "mobile"] | None = None
    save_method: bool = False
    expected_charge: int | None = Field(
        None, ge=0, le=INT64_MAX,
        description="the charge the customer saw (minor units); if the price changed "
                    "since, the change is refused with 409 price_changed")
    expected_refund: int | None = Field(None, ge=0, le=INT64_MAX,
                                        description="the refund the customer saw")


def preview_out(priced: PricedLine) -> dict[str, Any]:
    currency = priced.price.currency
    zero = Money.zero(currency)
    quote = priced.quote or {}
    period = priced.period
    assert priced.esim is not None
    replaces = None
    if period is not None and period.starts_at and period.ends_at:
        replaces = {"sequence": period.sequence, "plan": period.plan.code,
                    "starts_at": period.starts_at.isoformat(),
                    "ends_at": period.ends_at.isoformat(),
                    "paid": money_out(Money(int(quote.get("paid", 0)), currency)),  # type: ignore[call-overload]
                    "unused": str(quote.get("fraction", "0/1"))}
    return {
        "iccid": priced.esim.iccid, "plan": priced.plan.code, "plan_name": priced.plan.name,
        "when": priced.when, "price": money_out(priced.list_price or priced.price),
        "credit": money_out(priced.credit or zero), "charge": money_out(priced.price),
        "refund": money_out(priced.refund or zero),
        "starts_at": priced.starts_at.isoformat() if priced.starts_at else None,
        "ends_at": priced.ends_at.isoformat() if priced.ends_at else None,
        "replaces": replaces, "policy": quote.get("policy"),
        "priced_at": quote.get("priced_at"),
    }


@router.get("/esims/{iccid}/plan-change/preview",
            response={200: PlanChangePreviewOut, 404: ErrorOut, 409: ErrorOut},
            summary="Preview a plan change")
def preview_plan_change(request: HttpRequest, iccid: IccidPath,
                        plan: Annotated[str, Query(..., min_length=1, max_length=PLAN_CODE)],
                        when: Literal["now", "period_end"],
                        currency: Currency | None = None) -> dict[str, Any]:
    """The exact breakdown of changing this eSIM to ``plan``: the new price, the credit for
    the unused part of the running period (``when=now``), the charge and any refund. Computed
    by the same function that prices the order. ``currency`` defaults to the customer's; a
    change now must be in the currency the running period was paid in."""
    user = request.auth  # type: ignore[attr-defined]
    [priced] = orders.price_lines(
        user=user, currency=currency or user.preferred_currency,
        lines=[LineRequest(type="plan_change", plan=plan, iccid=iccid, when=when)])
    return preview_out(priced)


@router.post("/esims/{iccid}/plan-change",
             response={201: OrderOut, **REPLAYED},
             summary="Change plan")
def change_plan(request: HttpRequest, iccid: IccidPath, body: PlanChangeIn,
                idempotency_key: IdempotencyKey = None) -> Status[Any]:
    """Order a plan change and start paying it. ``when=now``: the running period ends now and
    the new plan starts now, with the credit taken off (a credit above the new price is paid
    back to the original payment; an order the credit covers completes with no payment and
    ``payment`` null). ``when=period_end``: the new plan starts when the current and queued
    periods end. Send ``expected_charge``/``expected_refund`` from the preview to be sure
    nothing else is charged. Honours ``Idempotency-Key``: reuse it when you retry."""
    user = request.auth  # type: ignore[attr-defined]

    def render(placed: checkout.Placed) -> tuple[int, Any]:
        return 201, order_out(order_queries.order_of(user, placed.order.number), placed.payment)

    stored = checkout.place_order_once(
        once=once(request, f"esims.{iccid}.plan-change", render), user=user,
        currency=body.currency, method=body.provider,
        device=body.device or payments.device_from_user_agent(
            request.headers.get("User-Agent", "")),
        save_method=body.save_method, payer_ip=client_ip(request),
        expected_total=body.expected_charge, expected_refund=body.expected_refund,
        lines=[LineRequest(type="plan_change", plan=body.plan, iccid=iccid, when=body.when)])
    return Status(stored.status, stored.body)
