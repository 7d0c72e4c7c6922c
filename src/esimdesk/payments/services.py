"""Payment writes once a payment has started (``checkout`` starts it). Every provider message
is applied exactly once, keyed by its event id, and only the Payment state machine decides
what it changes.

Three paths can tell esimdesk how a payment went, and they may race: the provider's webhook,
the payer's browser coming back (the return URL, which asks the provider with ``query``), and
reconciliation of payments whose outcome is unknown. All three end in ``apply_event`` under a
row lock on the payment, so the first fact wins and the others change nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol, cast

from django.db import IntegrityError, transaction

from esimdesk.core import audit, clock, metrics
from esimdesk.core.errors import NotFound, ValidationFailed
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.payments import refunds, registry
from esimdesk.payments.models import PAYMENT_STATES, Payment, PaymentEvent, SavedMethod
from esimdesk.payments.providers.base import Device, ProviderEvent, WebhookAck

logger = logging.getLogger(__name__)

NEEDS_REVIEW = {"unknown_payment", "amount_mismatch"}


def device_from_user_agent(user_agent: str) -> Device:
    """Phones get a redirect into the provider's app or page; desktops a QR code to scan."""
    text = user_agent or ""
    return "mobile" if any(m in text for m in ("Mobi", "Android", "iPhone", "iPad")) else \
        "desktop"


def methods_for(currency: str) -> list[tuple[str, str]]:
    """(name, label) of the enabled providers that accept ``currency``."""
    return [(p.name, p.display_name) for p in registry.available_for(currency.upper())]


def handle_webhook(*, provider: str, body: bytes,
                   headers: Mapping[str, str]) -> tuple[list[str], WebhookAck]:
    """Verify a provider message and apply each event it carries.

    Raises ``SignatureError`` (before anything is stored) when the message does not verify.
    Returns the outcomes and the acknowledgement the provider expects (also for a replay).
    """
    adapter = registry.get(provider)
    events = adapter.parse_webhook(body=body, headers=headers)
    outcomes = [apply_event(provider=adapter.name, event=event) for event in events]
    return outcomes, adapter.webhook_ack()


def apply_event(*, provider: str, event: ProviderEvent) -> str:
    """Apply one provider event exactly once. Returns what was done with it."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = PaymentEvent.objects.create(
                    provider=provider, event_id=event.event_id, type=event.type,
                    provider_reference=event.provider_reference[:120],
                    amount=event.amount.amount if event.amount else None,
                    currency=event.amount.currency if event.amount else "",
                    refund_reference=event.refund_reference[:120],
                    payload=_jsonable(event.raw))
        except IntegrityError:
            return "duplicate"
        payment = (Payment.objects.select_for_update()
                   .filter(provider=provider, provider_reference=event.provider_reference)
                   .first())
        outcome = _apply(payment, event, provider) if payment else "unknown_payment"
        record.payment = payment
        record.outcome = outcome
        record.save(update_fields=["payment", "outcome"])
        if outcome == "succeeded" and payment is not None:
            _release_held(payment, provider)
        metrics.count_on_commit(metrics.PAYMENTS.labels(provider, outcome).inc)
    if outcome in NEEDS_REVIEW:
        logger.warning("payment event %s:%s needs review: %s", provider, event.event_id,
                       outcome)
    return outcome


def _jsonable(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's message as stored JSON (anything odd inside becomes text)."""
    return dict(json.loads(json.dumps(dict(raw), default=str)))


def _apply(payment: Payment, event: ProviderEvent, provider: str) -> str:
    if event.type in ("refunded", "refund_failed"):
        if payment.status == Payment.Status.PENDING:
            return "held"  # applied once the success it refers to arrives
        return refunds.apply_refund_event(payment=payment, event=event, provider=provider)
    if event.amount is not None and event.amount != payment.money:
        audit.record(action="payment.amount_mismatch", obj=payment, actor_type="provider",
                     actor=provider, after={"event": event.event_id,
                                            "amount": str(event.amount),
                                            "expected": str(payment.money)},
                     reason="the provider reported another amount or currency")
        return "amount_mismatch"
    if event.type == "succeeded":
        return _apply_success(payment, event, provider)
    if payment.status != Payment.Status.PENDING:
        return f"ignored_{payment.status}"  # a decline never undoes a success
    payment.method = event.method[:100]
    payment.failure_code = event.failure_code[:60]
    payment.failure_message = event.failure_message[:255]
    _transition(payment, Payment.Status.DECLINED, actor=provider)
    return "declined"


def _apply_success(payment: Payment, event: ProviderEvent, provider: str) -> str:
    if payment.status not in (Payment.Status.PENDING, Payment.Status.CANCELLED):
        return f"ignored_{payment.status}"
    payment.method = event.method[:100]
    payment.succeeded_at = clock.now()
    if event.saved_method is not None:
        _remember_method(payment, event, provider)
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    if order.status != Order.Status.AWAITING_PAYMENT:
        # Paid twice (an older attempt completed after a newer one): pay the money back.
        _transition(payment, Payment.Status.DUPLICATE, actor=provider,
                    reason="the order was already paid")
        refunds.request_refund(payment=payment, amount=payment.money, via="provider",
                               reason="paid twice", user=None, allow_duplicate=True)
        return "duplicate_refunded"
    for other in Payment.objects.select_for_update().filter(
            order=order, status=Payment.Status.PENDING).exclude(pk=payment.pk).order_by("pk"):
        _transition(other, Payment.Status.CANCELLED, actor="esimdesk",
                    reason="another attempt paid the order")
    _transition(payment, Payment.Status.SUCCEEDED, actor=provider)
    orders.mark_paid(order_id=payment.order_id, provider=provider, method=payment.method,
                     actor=provider)
    return "succeeded"


def _remember_method(payment: Payment, event: ProviderEvent, provider: str) -> None:
    saved = event.saved_method
    assert saved is not None
    SavedMethod.objects.get_or_create(
        provider=provider, token=saved.token,
        defaults={"user_id": payment.order.user_id, "label": saved.label[:100],
                  "customer_token": saved.customer_token})


def _release_held(payment: Payment, provider: str) -> None:
    """Apply refund events that arrived before the success they refer to, in order."""
    for held in PaymentEvent.objects.filter(payment=payment, outcome="held").order_by("pk"):
        adapter_event = refunds.event_from_record(held)
        held.outcome = refunds.apply_refund_event(payment=payment, event=adapter_event,
                                                  provider=provider)
        held.save(update_fields=["outcome"])


def _transition(payment: Payment, to: str, *, actor: str, reason: str = "") -> None:
    PAYMENT_STATES.check(payment.status, to)
    before = payment.status
    payment.status = to
    payment.updated_at = clock.now()
    payment.save()
    audit.record(action="payment.status", obj=payment, actor_type="provider", actor=actor,
                 before={"status": before}, after={"status": to}, reason=reason)


def reconcile(*, payment: Payment) -> str:
    """Ask the provider how a payment stands and apply the answer (the return URL, and any
    payment whose outcome is unknown). Safe to run at any time, any number of times."""
    if payment.status not in (Payment.Status.PENDING, Payment.Status.CANCELLED):
        return f"settled_{payment.status}"
    adapter = registry.get(payment.provider)
    event = adapter.query(payment_id=payment.public_id,
                          provider_reference=payment.provider_reference)
    if event is None:
        return "open"
    return apply_event(provider=adapter.name, event=event)


#: The sandbox provider's name. Its adapter is in the optional sandbox app, which this module
#: never imports: a deployment without it answers ``unknown_provider`` here.
SANDBOX = "sandbox"


class _SandboxPage(Protocol):
    """What the sandbox's hosted page asks of its adapter: the signed webhook message that
    reports the payer's choice."""

    def complete(self, *, reference: str, outcome: str, decline_code: str, card: str,
                 save_card: bool | None) -> tuple[bytes, dict[str, str]]: ...


def complete_sandbox_payment(*, user: Any, payment_id: str, outcome: str,
                             decline_code: str = "card_declined", card: str = "4242",
                             save_card: bool | None = None) -> Payment:
    """Finish a sandbox payment as its hosted page would: approve or decline. The card is
    kept when ``save_card`` says so; ``None`` keeps it exactly when the payment was started
    with ``save_method`` (as the hosted page's box starts ticked then).

    The outcome travels as a signed webhook message through ``handle_webhook``, so the
    sandbox exercises the same exactly-once path as every real provider. Completing the same
    payment again is a replay: it changes nothing and returns the payment as it is.
    """
    registry.get(SANDBOX)  # refuses when the sandbox is not enabled
    payment = Payment.objects.filter(public_id=payment_id, provider=SANDBOX,
                                     order__user=user).first()
    if payment is None:
        raise NotFound(code="unknown_payment", detail={"payment": payment_id})
    return complete_sandbox_reference(reference=payment.provider_reference, outcome=outcome,
                                      decline_code=decline_code, card=card,
                                      save_card=save_card)


def complete_sandbox_reference(*, reference: str, outcome: str,
                               decline_code: str = "card_declined", card: str = "4242",
                               save_card: bool | None = None) -> Payment:
    """What the sandbox's hosted page does when the payer presses approve or decline."""
    if outcome not in ("approve", "decline"):
        raise ValidationFailed(code="invalid_outcome", detail={"allowed": ["approve", "decline"]})
    payment = sandbox_payment_by_reference(reference)
    provider = cast(_SandboxPage, registry.get(SANDBOX))
    body, headers = provider.complete(reference=reference, outcome=outcome,
                                      decline_code=decline_code, card=card, save_card=save_card)
    handle_webhook(provider=SANDBOX, body=body, headers=headers)
    payment.refresh_from_db()
    return payment


def sandbox_payment_by_reference(reference: str) -> Payment:
    payment = (Payment.objects.select_related("order", "order__user")
               .filter(provider=SANDBOX, provider_reference=reference).first())
    if payment is None:
        raise NotFound(code="unknown_payment")
    return payment


def latest_payment(order: Order) -> Payment | None:
    return max(order.payments.all(), key=lambda p: (p.created_at, p.pk), default=None)
