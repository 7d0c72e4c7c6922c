"""The customer's own refund: a plan never installed or started, within the refund window
(``ESIMDESK_REFUND_WINDOW_DAYS``, 14 days by default), is refunded in full on request."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk.core import clock
from esimdesk.core.errors import Conflict
from esimdesk.orders.kinds import registry as kinds
from esimdesk.orders.models import Order
from esimdesk.payments import refunds
from esimdesk.payments.models import Payment, Refund

REASONS = {
    "not_paid": gettext_lazy("This order has not been paid."),
    "already_refunded": gettext_lazy("This order has already been refunded."),
    "window_passed": gettext_lazy("The refund window for this order has passed."),
    "installed": gettext_lazy("The eSIM has been installed or used."),
    "started": gettext_lazy("The plan has already started."),
}


def ineligibility(order: Order) -> str | None:
    """Why the customer cannot refund this order themselves, or None if they can. Reads
    the order's payments, refunds and lines through ``.all()``, so an order fetched by
    ``orders.queries.order_of`` (which prefetches them) costs no query more."""
    payment = next((p for p in order.payments.all()
                    if p.status == Payment.Status.SUCCEEDED), None)
    if payment is None or order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
        return "not_paid"
    if any(refund.status != Refund.Status.FAILED for refund in payment.refunds.all()):
        return "already_refunded"
    if order.paid_at is None or clock.now() - order.paid_at > refunds.refund_window():
        return "window_passed"
    now = clock.now()
    for line in order.lines.all():
        blocker = kinds.kind_for(line.type).refund_blocker(line, now=now)
        if blocker is not None:
            return blocker
    return None


def request_customer_refund(*, user: Any, order: Order) -> Refund:
    reason = ineligibility(order)
    if reason is not None:
        raise Conflict(REASONS[reason], code=f"refund_{reason}")
    payment = order.payments.get(status=Payment.Status.SUCCEEDED)
    return refunds.request_refund(payment=payment, amount=payment.money, via=Refund.Via.CUSTOMER,
                                  reason=_("Unused plan, refunded on request"), user=user)
