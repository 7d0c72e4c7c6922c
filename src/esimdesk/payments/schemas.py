
from typing import Any, Literal

from django.conf import settings
from django.urls import reverse
from ninja import Field, Schema

from esimdesk.core.api.schemas import (
    ICCID_INPUT,
    PLAN_CODE,
    PROVIDER,
    BodyIn,
    Currency,
    MoneyOut,
    money_out,
)
from esimdesk.core.money import Money
from esimdesk.orders.models import Order
from esimdesk.orders.queries import activation_of
from esimdesk.orders.services import MAX_LINES
from esimdesk.payments.models import Payment, Refund
from esimdesk.payments.refund_policy import ineligibility


class LineIn(BodyIn):
    type: Literal["new_esim", "renewal", "top_up"]
    plan: str | None = Field(None, max_length=PLAN_CODE)
    iccid: str | None = Field(None, max_length=ICCID_INPUT)
    product: str | None = Field(None, max_length=PLAN_CODE)
    starts: Literal["at_period_end", "when_data_runs_out"] | None = Field(
        None, description="renewal only: when the new plan starts. `at_period_end` (the "
                          "default): when the eSIM's latest plan ends. `when_data_runs_out`: "
                          "the moment the data of the plan before it runs out, which then "
                          "ends at once (its remaining days are lost); at its end if the "
                          "data lasts; at once when the data has already run out. 422 "
                          "starts_not_supported on other line types")


class OrderIn(BodyIn):
    lines: list[LineIn] = Field(..., min_length=1, max_length=MAX_LINES)
    currency: Currency
    provider: str = Field("sandbox", max_length=PROVIDER, examples=["sandbox"])
    device: Literal["desktop", "mobile"] | None = Field(
        None, description="desktop gets a QR code where the method has one, mobile a redirect; "
                          "default: from the User-Agent")
    save_method: bool = Field(False, description="keep the method for automatic renewals")
    payment_method: int | None = Field(
        None, ge=1, le=2**63 - 1,
        description="one tap: the id of one of your saved methods (GET /payments/"
                    "saved-methods), charged off-session at once; provider and save_method "
                    "are then not used. The answer's payment is `succeeded` when the charge "
                    "went through; when the bank wants the payer (3-D Secure, a declined "
                    "card) it is a new attempt for the same order with `next_action` "
                    "`redirect` to the provider's page. 404 unknown_saved_method (not yours "
                    "or removed), 422 saved_method_not_chargeable (its provider cannot "
                    "charge saved methods, or is not enabled)")


class PayAgainIn(BodyIn):
    provider: str = Field("sandbox", max_length=PROVIDER)
    device: Literal["desktop", "mobile"] | None = None
    save_method: bool = False


class MethodOut(Schema):
    provider: str
    label: str
    saves_methods: bool


class RefundOut(Schema):
    id: str
    amount: MoneyOut
    status: str
    via: str
    reason: str
    created_at: str
    credit_note_url: str | None


class SandboxCompleteIn(BodyIn):
    outcome: Literal["approve", "decline"]
    decline_code: Literal["card_declined", "insufficient_funds", "expired_card"] = "card_declined"
    card: Literal["4242", "0341", "3155"] = Field(
        "4242", description="the test card: 4242 always pays; 0341 pays now and declines "
                            "later off-session charges; 3155 pays now and later off-session "
                            "charges need the payer (authentication_required)")
    save_card: bool | None = Field(
        None, description="keep the card for off-session charges (auto-renew, one-tap); "
                          "default: kept when the order was placed with save_method")


class NextActionOut(Schema):
    type: str
    url: str = ""
    data: str = ""


class PaymentOut(Schema):
    id: str
    provider: str
    status: str
    amount: MoneyOut
    method: str
    failure_code: str
    failure_message: str
    next_action: NextActionOut
    created_at: str


class OrderLineOut(Schema):
    type: str
    plan: str
    iccid: str | None
    description: str
    amount: MoneyOut
    fulfilled: bool
    product: str | None = Field(None, description="top_up: the product bought")
    when: str | None = Field(None, description="plan_change: now | period_end")
    starts: str | None = Field(None, description="renewal: `when_data_runs_out` when it "
                                                 "starts as the data runs out (see the "
                                                 "order's lines), else null")
    credit: MoneyOut | None = Field(None, description="plan_change: credit for the unused "
                                                      "part of the replaced period")
    refund: MoneyOut | None = Field(None, description="paid back when the line was "
                                                      "fulfilled (credit above the price)")
    activation: str | None = Field(
        None, description="new_esim: preparing | ready (to install) | installed | active; "
                          "attention when activation failed (support is on it); suspended "
                          "or revoked. Poll this while it is preparing.")


class OrderOut(Schema):
    id: str
    status: str
    status_label: str
    created_at: str
    paid_at: str | None
    total: MoneyOut
    refunded: MoneyOut
    paid_with: str
    lines: list[OrderLineOut]
    payment: PaymentOut | None = Field(..., description="the latest payment attempt")
    payments: list[PaymentOut] = Field(..., description="every attempt, oldest first")
    refunds: list[RefundOut] = Field(..., description="money paid back (shown as negative "
                                                      "lines in history)")
    refund_eligible: bool = Field(..., description="the customer may refund it themselves")
    receipt_url: str | None


def payment_out(payment: Payment) -> dict[str, Any]:
    pending = payment.status == Payment.Status.PENDING
    return {
        "id": payment.public_id,
        "provider": payment.provider,
        "status": payment.status,
        "amount": money_out(payment.money),
        "method": payment.method,
        "failure_code": payment.failure_code,
        "failure_message": payment.failure_message,
        "next_action": payment.next_action if pending and payment.next_action
        else {"type": "none", "url": "", "data": ""},
        "created_at": payment.created_at.isoformat(),
    }


def refund_out(refund: Refund) -> dict[str, Any]:
    done = refund.status == Refund.Status.SUCCEEDED
    return {"id": refund.public_id, "amount": money_out(refund.money), "status": refund.status,
            "via": refund.via, "reason": refund.reason,
            "created_at": refund.created_at.isoformat(),
            "credit_note_url": settings.PUBLIC_URL + reverse(
                "api_v1:credit_note", args=[refund.payment.order.number, refund.public_id])
            if done else None}


def order_out(order: Order, payment: Payment | None = None) -> dict[str, Any]:
    payments = sorted(order.payments.all(), key=lambda p: (p.created_at, p.pk))
    latest = payment or (payments[-1] if payments else None)
    has_receipt = hasattr(order, "receipt")
    refunds = [r for p in payments for r in p.refunds.all()]
    refunded = sum(r.amount for r in refunds if r.status == Refund.Status.SUCCEEDED)
    steps = {row["line"]: row["step"] for row in activation_of(order)}
    return {
        "id": order.number,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "created_at": order.created_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "total": money_out(order.total_money),
        "refunded": money_out(Money(refunded, order.currency)),
        "paid_with": order.paid_with,
        "lines": [{"type": line.type, "plan": line.plan.code,
                   "iccid": line.esim.iccid if line.esim else None,
                   "description": line.label, "amount": money_out(line.money),
                   "fulfilled": line.fulfilled_at is not None,
                   "product": line.product.code if line.product_id else None,  # type: ignore[union-attr]
                   "when": line.when or None,
                   "starts": "when_data_runs_out" if line.low_data else None,
                   "credit": money_out(line.credit_money) if line.credit else None,
                   "refund": money_out(line.refund_money) if line.refund_amount else None,
                   "activation": steps.get(line.pk)}
                  for line in order.lines.all()],
        "payment": payment_out(latest) if latest else None,
        "payments": [payment_out(p) for p in payments],
        "refunds": [refund_out(r) for r in sorted(refunds, key=lambda r: (r.created_at, r.pk))],
        "refund_eligible": ineligibility(order) is None,
        "receipt_url": (settings.PUBLIC_URL + reverse("api_v1:order_receipt",
                                                      args=[order.number]))
        if has_receipt else None,
    }
