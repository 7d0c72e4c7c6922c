
from typing import Any, Literal

from django.conf import settings
from django.urls import reverse
from ninja import Field, Schema

from esimdesk.api.schemas import MoneyOut, money_out
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment


class LineIn(Schema):
    type: Literal["new_esim", "renewal", "top_up"]
    plan: str | None = None
    iccid: str | None = None
    product: str | None = None


class OrderIn(Schema):
    lines: list[LineIn] = Field(..., min_length=1)
    currency: str = Field(..., min_length=3, max_length=3, examples=["USD"])
    provider: str = Field("sandbox", examples=["sandbox"])


class PayAgainIn(Schema):
    provider: str = "sandbox"


class SandboxCompleteIn(Schema):
    outcome: Literal["approve", "decline"]
    decline_code: Literal["card_declined", "insufficient_funds", "expired_card"] = "card_declined"


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


class OrderOut(Schema):
    id: str
    status: str
    status_label: str
    created_at: str
    paid_at: str | None
    total: MoneyOut
    paid_with: str
    lines: list[OrderLineOut]
    payment: PaymentOut | None
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


def order_out(order: Order, payment: Payment | None = None) -> dict[str, Any]:
    payments = list(order.payments.all())
    latest = payment or max(payments, key=lambda p: (p.created_at, p.pk), default=None)
    has_receipt = hasattr(order, "receipt")
    return {
        "id": order.number,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "created_at": order.created_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "total": money_out(order.total_money),
        "paid_with": order.paid_with,
        "lines": [{"type": line.type, "plan": line.plan.code,
                   "iccid": line.esim.iccid if line.esim else None,
                   "description": line.label, "amount": money_out(line.money),
                   "fulfilled": line.fulfilled_at is not None}
                  for line in order.lines.all()],
        "payment": payment_out(latest) if latest else None,
        "receipt_url": (settings.PUBLIC_URL + reverse("api_v1:order_receipt",
                                                      args=[order.number]))
        if has_receipt else None,
    }
