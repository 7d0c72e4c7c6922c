"""Reconciliation: payments whose outcome esimdesk has not heard are settled by asking the
provider, never by charging again. Bounded per run; safe on several machines at once (each
payment is settled under its row lock, and a second run finds it settled).

Payments left ``starting`` (the process placing them was stopped between recording the
attempt and recording the provider's answer) are failed once ``checkout.STARTING_TIMEOUT``
has passed: the payer never saw where to pay, and the order stays awaiting payment."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from esimdesk.core import audit, clock
from esimdesk.payments import checkout, services
from esimdesk.payments.models import PAYMENT_STATES, Payment
from esimdesk.payments.providers.base import ProviderError

logger = logging.getLogger(__name__)
QUIET_FOR = dt.timedelta(minutes=2)  # give the webhook a chance first
GIVE_UP_AFTER = dt.timedelta(hours=24)
BATCH = 200


def payments_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The ``payments`` sweep: reconcile, and fail abandoned starts."""
    return {**reconcile_payments(now=now), "abandoned": fail_abandoned_starts(now=now)}


def fail_abandoned_starts(*, now: dt.datetime | None = None) -> int:
    instant = now or clock.now()
    failed = 0
    for pk in (Payment.objects.filter(status=Payment.Status.STARTING,
                                      created_at__lte=instant - checkout.STARTING_TIMEOUT)
               .order_by("created_at").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=pk)
            if payment.status != Payment.Status.STARTING:
                continue  # its answer arrived meanwhile
            checkout.fail_starting(payment=payment, code="start_interrupted",
                                   message="the provider's answer to starting it never "
                                           "arrived", actor_type="task",
                                   actor="reconciliation")
            failed += 1
    return failed


def reconcile_payments(*, now: dt.datetime | None = None) -> dict[str, int]:
    instant = now or clock.now()
    counts = {"asked": 0, "settled": 0, "expired": 0, "unreachable": 0}
    due = (Payment.objects.filter(status=Payment.Status.PENDING,
                                  created_at__lte=instant - QUIET_FOR)
           .order_by("created_at")[:BATCH])
    for payment in due:
        counts["asked"] += 1
        try:
            outcome = services.reconcile(payment=payment)
        except ProviderError as error:
            counts["unreachable"] += 1
            logger.warning("reconcile %s: %s", payment.public_id, error)
            continue
        if outcome != "open":
            counts["settled"] += 1
        elif payment.created_at <= instant - GIVE_UP_AFTER:
            counts["expired"] += _expire(payment)
    return counts


def _expire(payment: Payment) -> int:
    """A payer who has not paid in a day has walked away: stop waiting (a late success is
    still honoured, or refunded if the order was paid otherwise)."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != Payment.Status.PENDING:
            return 0
        PAYMENT_STATES.check(locked.status, Payment.Status.CANCELLED)
        locked.status = Payment.Status.CANCELLED
        locked.save(update_fields=["status"])
        audit.record(action="payment.status", obj=locked, actor_type="task",
                     actor="reconciliation", before={"status": "pending"},
                     after={"status": "cancelled"}, reason="not paid within a day")
    return 1
