"""The customer's own refund: a plan never installed or started, within the refund window
(``ESIMDESK_REFUND_WINDOW_DAYS``, 14 days by default), is refunded in full on request."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk.core import clock
from esimdesk.core.errors import Conflict
from esimdesk.esims.models import Esim
from esimdesk.orders import topups
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
    """Why the customer cannot refund this order themselves, or None if they can."""
    payment = order.payments.filter(status=Payment.Status.SUCCEEDED).first()
    if payment is None or order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
        return "not_paid"
    if payment.refunds.exclude(status=Refund.Status.FAILED).exists():
        return "already_refunded"
    if order.paid_at is None or clock.now() - order.paid_at > refunds.refund_window():
        return "window_passed"
    now = clock.now()
    for line in order.lines.select_related("esim", "period", "product"):
        period = line.period
        if line.type == "group_seats":
            return "started"  # members joined on those seats at once
        if line.type in ("top_up", "group_topup"):
            # Days an extending top-up added cannot be handed back; used quantities neither.
            if line.target_period_id and line.product and line.product.extends_validity_days:
                return "started"
            if not topups.is_untouched(line):
                return "installed"
            continue
        if line.type == "new_esim":
            if line.esim is not None and line.esim.status != Esim.Status.READY:
                return "installed"
            if period is not None and any(a.used for a in period.allowances.all()):
                return "installed"
        elif period is not None and period.starts_at <= now:
            return "started"
    return None


def request_customer_refund(*, user: Any, order: Order) -> Refund:
    reason = ineligibility(order)
    if reason is not None:
        raise Conflict(REASONS[reason], code=f"refund_{reason}")
    payment = order.payments.get(status=Payment.Status.SUCCEEDED)
    return refunds.request_refund(payment=payment, amount=payment.money, via=Refund.Via.CUSTOMER,
                                  reason=_("Unused plan, refunded on request"), user=user)
