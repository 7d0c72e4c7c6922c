"""Orders that need no payment, and money a fulfilment pays back.

- ``place_order``: create an order and start paying it, or, when its total is zero (a plan
  change the credit fully covers), mark it paid without any payment: no ``Payment`` row, the
  order's ``paid_provider`` is ``none``, and an ``order.settled_without_payment`` audit row
  says who placed it. Fulfilment then runs as for any paid order.
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

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from esimdesk.core import audit
from esimdesk.core.errors import Conflict, DomainError, ValidationFailed
from esimdesk.core.money import Money, check_currency
from esimdesk.orders import services as orders
from esimdesk.orders.models import NO_PAYMENT, Order, OrderLine
from esimdesk.payments import refunds, registry
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment, Refund
from esimdesk.payments.providers.base import Device
from esimdesk.sharedplans import invoicing

logger = logging.getLogger(__name__)
MAX_CHAIN = 50


def place_order(*, user: Any, lines: list[orders.LineRequest], currency: str, provider: str,
                device: Device = "desktop", save_method: bool = False, payer_ip: str = "",
                expected_total: int | None = None,
                expected_refund: int | None = None) -> tuple[Order, Payment | None]:
    """Create the order and start paying it, in one transaction; an order whose total is
    zero is settled without a payment (the answer's payment is then ``None``, and
    ``provider`` may be ``""``), and so is an organisation's order with the method
    ``invoice`` (settled on its account, billed with the month's invoice)."""
    code = check_currency(currency)
    if provider == invoicing.ON_ACCOUNT:  # an organisation billed by monthly invoice
        return invoicing.place_on_account(user=user, lines=lines, currency=code), None
    # A method named is checked even if the order turns out free; "" chooses none.
    adapter = registry.get(provider) if provider else None
    with transaction.atomic():
        order = orders.create_order(user=user, lines=lines, currency=code,
                                    expected_total=expected_total,
                                    expected_refund=expected_refund)
        if order.total == 0:
            return settle_without_payment(user=user, order=order), None
        if adapter is None:
            adapter = registry.get(provider)  # refused: a paid order needs a method
        if not adapter.supports(code):
            raise ValidationFailed(_("That payment method does not accept this currency."),
                                   code="currency_not_supported_by_provider",
                                   detail={"provider": provider, "currency": code,
                                           "available": [n for n, _l in
                                                         payments.methods_for(code)]})
        payment = payments.start_payment(user=user, order=order, provider=provider,
                                         device=device, save_method=save_method,
                                         payer_ip=payer_ip)
        return order, payment


def settle_without_payment(*, user: Any, order: Order) -> Order:
    """Mark a zero-total order paid with no payment at all, and queue its fulfilment."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.total != 0:
            raise Conflict(_("This order needs paying."), code="order_not_free",
                           detail={"total": locked.total})
        if locked.status == Order.Status.AWAITING_PAYMENT:
            audit.record_by_user(user=user, action="order.settled_without_payment", obj=locked,
                                 after={"total": 0, "currency": locked.currency,
                                        "credit": sum(line.credit
                                                      for line in locked.lines.all())},
                                 reason="the credit covers the whole price")
        return orders.mark_paid(order_id=locked.pk, provider=NO_PAYMENT, method="",
                                actor="esimdesk")


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
