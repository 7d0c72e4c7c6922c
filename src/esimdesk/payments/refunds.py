"""Refunds: requested by staff, by the customer under the refund policy, automatically for a
payment made twice, or learnt from the provider (a refund made in its dashboard).

A refund is a row first (``pending``), with the provider call in a task after commit; the
refund's ``public_id`` is the provider's idempotency key, so a retried task never pays back
twice. The payment's ``refunded`` total only grows when the provider confirms.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django_tasks import task

from esimdesk import config
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.core.money import Money
from esimdesk.payments import refund_limits, registry
from esimdesk.payments.models import REFUND_STATES, Payment, PaymentEvent, Refund
from esimdesk.payments.providers.base import (
    FinalProviderError,
    ProviderEvent,
    RetryableProviderError,
)
from esimdesk.payments.refund_effects import after_refund

logger = logging.getLogger(__name__)
RETRIES = 6


def request_refund(*, payment: Payment, amount: Money, via: str, reason: str, user: Any,
                   allow_duplicate: bool = False) -> Refund:
    """Record a refund to make and queue the provider call (after commit)."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        allowed = {Payment.Status.SUCCEEDED} | ({Payment.Status.DUPLICATE}
                                                if allow_duplicate else set())
        if locked.status not in allowed:
            raise Conflict(_("Only a completed payment can be refunded."),
                           code="payment_not_refundable", detail={"status": locked.status})
        if amount.currency != locked.currency or amount.amount <= 0:
            raise ValidationFailed(_("The refund must be a positive amount in the payment's "
                                     "currency."), code="invalid_refund_amount")
        committed = (Refund.objects.filter(payment=locked)
                     .exclude(status=Refund.Status.FAILED)
                     .aggregate(total=Sum("amount"))["total"] or 0)
        if committed + amount.amount > locked.amount:
            raise ValidationFailed(
                _("That is more than is left to refund (%(left)s).")
                % {"left": Money(locked.amount - committed, locked.currency)},
                code="refund_exceeds_payment",
                detail={"refundable": locked.amount - committed})
        if via == Refund.Via.STAFF and user is not None:
            # Staff refunds stay within the requester's role limit (refund_limits).
            refund_limits.check_staff_refund(user=user, payment=locked, amount=amount)
        refund = Refund.objects.create(payment=locked, amount=amount.amount,
                                       currency=amount.currency, via=via, reason=reason[:255],
                                       requested_by=user if getattr(user, "pk", None) else None)
        audit.record(action="refund.request", obj=refund,
                     actor_type=audit.actor_of(user)[0] if user else "provider",
                     actor=audit.actor_of(user)[1] if user else locked.provider,
                     after={"payment": locked.public_id, "amount": amount.amount,
                            "currency": amount.currency, "via": via}, reason=reason)
        execute_refund_task.enqueue(refund.pk)
    return refund


@task()
def execute_refund_task(refund_id: int, attempt: int = 1) -> str:
    """``execute_refund`` from the worker: enqueued after the refund's row commits, and by
    itself for a retry."""
    return execute_refund(refund_id=refund_id, attempt=attempt)


def execute_refund(*, refund_id: int, attempt: int = 1) -> str:
    """The provider call of one refund (a task). Idempotent at the provider by public_id."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING or refund.provider_refund_id:
        return refund.status
    payment = refund.payment
    adapter = registry.provider_class(payment.provider)()
    try:
        result = adapter.refund(refund_id=refund.public_id, payment_id=payment.public_id,
                                provider_reference=payment.provider_reference,
                                amount=refund.money, reason=refund.reason)
    except RetryableProviderError as error:
        if attempt >= RETRIES:
            return _fail(refund, f"provider unreachable: {error}")
        delay = dt.timedelta(seconds=30 * 2 ** attempt)
        execute_refund_task.using(run_after=clock.now() + delay).enqueue(refund_id, attempt + 1)
        return "retrying"
    except FinalProviderError as error:
        return _fail(refund, str(error))
    if result.status == "succeeded":
        return succeed(refund=refund, provider_refund_id=result.provider_refund_id)
    if result.status == "failed":
        return _fail(refund, result.failure_message or "refused by the provider")
    Refund.objects.filter(pk=refund.pk).update(provider_refund_id=result.provider_refund_id)
    return "pending"  # the provider confirms by webhook


def succeed(*, refund: Refund, provider_refund_id: str = "") -> str:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != Refund.Status.PENDING:
            return locked.status
        REFUND_STATES.check(locked.status, Refund.Status.SUCCEEDED)
        locked.status = Refund.Status.SUCCEEDED
        locked.succeeded_at = clock.now()
        locked.provider_refund_id = provider_refund_id or locked.provider_refund_id
        locked.save()
        locked.credit_note_number = f"CN-{locked.succeeded_at:%Y}-{locked.pk:06d}"
        locked.save(update_fields=["credit_note_number"])
        payment.refunded += locked.amount
        payment.save(update_fields=["refunded"])
        audit.record(action="refund.succeeded", obj=locked, actor_type="provider",
                     actor=payment.provider, before={"status": "pending"},
                     after={"status": "succeeded", "payment_refunded": payment.refunded})
        after_refund(refund=locked, payment=payment)
    return Refund.Status.SUCCEEDED


def _fail(refund: Refund, message: str) -> str:
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != Refund.Status.PENDING:
            return locked.status
        REFUND_STATES.check(locked.status, Refund.Status.FAILED)
        locked.status = Refund.Status.FAILED
        locked.failure_message = message[:255]
        locked.save(update_fields=["status", "failure_message"])
        audit.record(action="refund.failed", obj=locked, actor_type="provider",
                     actor=locked.payment.provider, before={"status": "pending"},
                     after={"status": "failed"}, reason=message[:500])
    logger.warning("refund %s failed: %s", refund.public_id, message)
    return Refund.Status.FAILED


def apply_refund_event(*, payment: Payment, event: ProviderEvent, provider: str) -> str:
    """A provider's word on a refund (its webhook, in the payment's row lock)."""
    ref = event.refund_reference
    refund = None
    if ref:
        refund = (Refund.objects.filter(payment=payment, public_id=ref).first()
                  or Refund.objects.filter(payment=payment, provider_refund_id=ref).first())
    if refund is None:
        if event.type != "refunded" or event.amount is None:
            return "unknown_refund"
        # Refunded in the provider's dashboard: the money left, so record it.
        amount = event.amount.amount - payment.refunded if event.cumulative \
            else event.amount.amount
        if amount <= 0:
            return "refund_already_recorded"
        if event.amount.currency != payment.currency or \
                payment.refunded + amount > payment.amount:
            return "amount_mismatch"
        refund = Refund.objects.create(payment=payment, amount=amount,
                                       currency=payment.currency, via=Refund.Via.PROVIDER,
                                       reason=_("Refunded at the provider"),
                                       provider_refund_id=ref)
    if event.type == "refund_failed":
        return f"refund_{_fail(refund, event.failure_message or 'refused by the provider')}"
    # A provider that echoes esimdesk's own refund id tells us nothing new about its id.
    provider_id = "" if ref == refund.public_id else ref
    return f"refund_{succeed(refund=refund, provider_refund_id=provider_id)}"


def event_from_record(record: PaymentEvent) -> ProviderEvent:
    """Rebuild a held refund event from what was stored when it arrived."""
    amount = Money(record.amount, record.currency) if record.amount is not None else None
    return ProviderEvent(event_id=record.event_id, provider_reference=record.provider_reference,
                         type=record.type, amount=amount,  # type: ignore[arg-type]
                         refund_reference=record.refund_reference, raw=record.payload)


def refund_window() -> dt.timedelta:
    return dt.timedelta(days=int(config.env("ESIMDESK_REFUND_WINDOW_DAYS")))
