"""Payment writes. Every provider message is applied exactly once, keyed by its event id,
and only the Payment state machine decides what it changes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, NotFound, ValidationFailed
from esimdesk.core.money import check_currency
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.payments import registry
from esimdesk.payments.models import PAYMENT_STATES, Payment, PaymentEvent, new_payment_id
from esimdesk.payments.providers.base import ProviderEvent
from esimdesk.payments.providers.sandbox import SandboxProvider

logger = logging.getLogger(__name__)


def checkout(*, user: Any, lines: list[orders.LineRequest], currency: str,
             provider: str, return_url: str = "") -> Payment:
    """Create the order and start paying it, in one transaction."""
    adapter = registry.get(provider)
    code = check_currency(currency)
    if not adapter.supports(code):
        raise ValidationFailed(_("That payment method does not accept this currency."),
                               code="currency_not_supported_by_provider",
                               detail={"provider": provider, "currency": code})
    with transaction.atomic():
        order = orders.create_order(user=user, lines=lines, currency=currency)
        return start_payment(user=user, order=order, provider=provider, return_url=return_url)


def start_payment(*, user: Any, order: Order, provider: str, return_url: str = "") -> Payment:
    """Start a (new) payment attempt for an order that is still awaiting payment.

    A previous attempt still pending is cancelled first, so at most one attempt can succeed.
    """
    adapter = registry.get(provider)
    if not adapter.supports(order.currency):
        raise ValidationFailed(code="currency_not_supported_by_provider",
                               detail={"provider": provider, "currency": order.currency})
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.user_id != user.pk:
            raise NotFound(code="unknown_order")
        if locked.status != Order.Status.AWAITING_PAYMENT:
            raise Conflict(_("This order does not need paying."), code="order_not_payable",
                           detail={"status": locked.status})
        for previous in Payment.objects.select_for_update().filter(
                order=locked, status=Payment.Status.PENDING).order_by("pk"):
            _transition(previous, Payment.Status.CANCELLED, actor="esimdesk",
                        reason="superseded by a new payment attempt")
        public_id = new_payment_id()
        started = adapter.start(payment_id=public_id, amount=locked.total_money,
                                description=locked.number, return_url=return_url)
        payment = Payment.objects.create(
            public_id=public_id, order=locked, provider=adapter.name,
            provider_reference=started.provider_reference, amount=locked.total,
            currency=locked.currency, next_action=started.next_action.as_dict())
        audit.record_by_user(user=user, action="payment.start", obj=payment,
                             after={"order": locked.number, "provider": adapter.name,
                                    "amount": payment.amount, "currency": payment.currency})
    return payment


def handle_webhook(*, provider: str, body: bytes, headers: Mapping[str, str]) -> list[str]:
    """Verify a provider message and apply each event it carries; returns the outcomes.

    Raises ``SignatureError`` (before anything is stored) when the message does not verify.
    """
    adapter = registry.get(provider)
    events = adapter.parse_webhook(body=body, headers=headers)
    return [apply_event(provider=adapter.name, event=event) for event in events]


def apply_event(*, provider: str, event: ProviderEvent) -> str:
    """Apply one provider event exactly once. Returns what was done with it."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = PaymentEvent.objects.create(
                    provider=provider, event_id=event.event_id,
                    type=event.type, payload=dict(event.raw))
        except IntegrityError:
            return "duplicate"
        payment = (Payment.objects.select_for_update()
                   .filter(provider=provider, provider_reference=event.provider_reference)
                   .first())
        outcome = _apply(payment, event, provider) if payment else "unknown_payment"
        record.payment = payment
        record.outcome = outcome
        record.save(update_fields=["payment", "outcome"])
    if outcome in ("unknown_payment", "amount_mismatch", "success_after_cancel"):
        logger.warning("payment event %s:%s needs review: %s", provider, event.event_id,
                       outcome)
    return outcome


def _apply(payment: Payment, event: ProviderEvent, provider: str) -> str:
    if event.amount is not None and event.amount != payment.money:
        audit.record(action="payment.amount_mismatch", obj=payment, actor_type="provider",
                     actor=provider, after={"event": event.event_id,
                                            "amount": str(event.amount)})
        return "amount_mismatch"
    if payment.status != Payment.Status.PENDING:
        # Out-of-order or late: a decline after a success never undoes it. A success on an
        # attempt that was superseded means money arrived twice and needs a refund.
        if event.type == "succeeded" and payment.status == Payment.Status.CANCELLED:
            audit.record(action="payment.success_after_cancel", obj=payment,
                         actor_type="provider", actor=provider,
                         after={"event": event.event_id}, reason="needs refund review")
            return "success_after_cancel"
        return f"ignored_{payment.status}"
    if event.type == "succeeded":
        payment.method = event.method[:100]
        payment.succeeded_at = clock.now()
        _transition(payment, Payment.Status.SUCCEEDED, actor=provider)
        orders.mark_paid(order_id=payment.order_id, provider=provider, method=payment.method,
                         actor=provider)
        return "succeeded"
    payment.method = event.method[:100]
    payment.failure_code = event.failure_code[:60]
    payment.failure_message = event.failure_message[:255]
    _transition(payment, Payment.Status.DECLINED, actor=provider)
    return "declined"


def _transition(payment: Payment, to: str, *, actor: str, reason: str = "") -> None:
    PAYMENT_STATES.check(payment.status, to)
    before = payment.status
    payment.status = to
    payment.updated_at = clock.now()
    payment.save()
    audit.record(action="payment.status", obj=payment, actor_type="provider", actor=actor,
                 before={"status": before}, after={"status": to}, reason=reason)


def complete_sandbox_payment(*, user: Any, payment_id: str, outcome: str,
                             decline_code: str = "card_declined") -> Payment:
    """Finish a sandbox payment as its hosted page would: approve or decline.

    The outcome travels as a signed webhook message through ``handle_webhook``, so the
    sandbox exercises the same exactly-once path as every real provider. Completing the same
    payment again is a replay: it changes nothing and returns the payment as it is.
    """
    registry.get(SandboxProvider.name)  # refuses when the sandbox is not enabled
    payment = Payment.objects.filter(public_id=payment_id, provider=SandboxProvider.name,
                                     order__user=user).first()
    if payment is None:
        raise NotFound(code="unknown_payment", detail={"payment": payment_id})
    return complete_sandbox_reference(reference=payment.provider_reference, outcome=outcome,
                                      decline_code=decline_code)


def complete_sandbox_reference(*, reference: str, outcome: str,
                               decline_code: str = "card_declined") -> Payment:
    """What the sandbox's hosted page does when the payer presses approve or decline."""
    if outcome not in ("approve", "decline"):
        raise ValidationFailed(code="invalid_outcome", detail={"allowed": ["approve", "decline"]})
    payment = sandbox_payment_by_reference(reference)
    body, headers = SandboxProvider().completion_message(
        reference=payment.provider_reference, amount=payment.money, outcome=outcome,
        decline_code=decline_code)
    handle_webhook(provider=SandboxProvider.name, body=body, headers=headers)
    payment.refresh_from_db()
    return payment


def sandbox_payment_by_reference(reference: str) -> Payment:
    payment = (Payment.objects.select_related("order", "order__user")
               .filter(provider=SandboxProvider.name, provider_reference=reference).first())
    if payment is None:
        raise NotFound(code="unknown_payment")
    return payment


def latest_payment(order: Order) -> Payment | None:
    return max(order.payments.all(), key=lambda p: (p.created_at, p.pk), default=None)
