"""Money a fulfilment pays back (orders that need no payment are settled by ``checkout``).

- ``pay_back`` (the receiver of ``orders.signals.refund_due``): a plan change's credit above
  the new price, or a top-up that found no plan to top up, is refunded to the payment that
  paid for it, through ``refunds.request_refund``. Where that payment has less left to
  refund (or the period was itself bought with credit), the rest comes from the payment
  further back in the chain of plan changes; anything that still cannot be paid back is
  recorded in the audit log (``refund.unfunded``) for staff.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Sum

from esimdesk.core import audit
from esimdesk.core.errors import DomainError
from esimdesk.core.money import Money
from esimdesk.orders.models import OrderLine
from esimdesk.payments import refunds
from esimdesk.payments.models import Payment, Refund

logger = logging.getLogger(__name__)
MAX_CHAIN = 50


def _left_to_refund(payment: Payment) -> int:
    committed = (Refund.objects.filter(payment=payment).exclude(status=Refund.Status.FAILED)
                 .aggregate(total=Sum("amount"))["total"] or 0)
    return max(0, payment.amount - committed)


def pay_back(*, line: OrderLine, funded_by: OrderLine | None, amount: Money,
             reason: str) -> int:
    """Refund ``amount`` starting with the payment of ``funded_by``'s order and walking back
    through the plan changes that funded it. Returns what could not be paid back."""
    remaining = amount.amount
    source = funded_by
    seen: set[int] = set()
    while remaining > 0 and source is not None and source.pk not in seen \
            and len(seen) < MAX_CHAIN:
        seen.add(source.pk)
        order = source.order
        payment = order.payments.filter(status=Payment.Status.SUCCEEDED).first()
        if payment is not None and payment.currency == amount.currency:
            take = min(remaining, _left_to_refund(payment))
            if take > 0:
                try:
                    refunds.request_refund(payment=payment, amount=Money(take, amount.currency),
                                           via=Refund.Via.CUSTOMER, reason=reason,
                                           user=order.user)
                    remaining -= take
                except DomainError as error:
                    logger.warning("pay back %s on %s refused: %s", take, payment.public_id,
                                   error.code)
        source = (OrderLine.objects.select_related("order")
                  .filter(period_id=source.replaced_period_id).first()
                  if source.replaced_period_id else None)
    if remaining > 0:
        audit.record(action="refund.unfunded", obj=line.order, actor_type="task",
                     actor="fulfilment", after={"line": line.pk, "amount": remaining,
                                                "currency": amount.currency},
                     reason=f"{reason}: no payment left to pay this back; staff must settle it")
        logger.error("order %s: %s %s could not be paid back", line.order.number, remaining,
                     amount.currency)
    return remaining


def on_refund_due(sender: Any, *, line: OrderLine, funded_by: OrderLine | None, amount: Money,
                  reason: str, **_kwargs: Any) -> None:
    pay_back(line=line, funded_by=funded_by, amount=amount, reason=reason)
