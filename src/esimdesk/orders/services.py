"""Order writes: pricing and creating orders, marking them paid, fulfilling them.

Pricing is one function (``price_lines``) used by both the checkout preview and order
creation, so the amount shown is the amount charged.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_tasks import task

from esimdesk.core import audit, clock, metrics
from esimdesk.core.errors import Conflict, DomainError, ValidationFailed
from esimdesk.core.models import AuditEntry
from esimdesk.core.money import Money, check_currency
from esimdesk.orders import activation
from esimdesk.orders.confirmation import queue_confirmation
from esimdesk.orders.costs import record_costs
from esimdesk.orders.kinds import registry as kinds
from esimdesk.orders.lines import (
    STARTS,
    STARTS_WHEN_DATA_RUNS_OUT,
    LineRequest,
    PricedLine,
)
from esimdesk.orders.models import ORDER_STATES, Order, OrderLine, Receipt
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    RetryableUpstreamError,
    UpstreamError,
    wait_before_retry,
)

logger = logging.getLogger(__name__)
MAX_LINES = 10


__all__ = ["LineRequest", "PricedLine", "create_order", "mark_paid", "price_lines",
           "total_of"]


def price_lines(*, user: Any, lines: list[LineRequest], currency: str) -> list[PricedLine]:
    """Validate the requested lines and price each in ``currency`` (each by its kind, see
    ``orders.kinds``). Changes nothing."""
    code = check_currency(currency)
    if not lines:
        raise ValidationFailed(_("The order has no lines."), code="no_lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(code="too_many_lines", detail={"max": MAX_LINES})
    priced = []
    for index, line in enumerate(lines):
        try:
            kind = kinds.requested_kind(line.type)
            if line.starts not in (None, *STARTS):
                raise ValidationFailed(
                    _("Say when the renewal starts: at the end of the current plan or when "
                      "its data runs out."), code="invalid_starts",
                    detail={"allowed": list(STARTS)})
            if line.starts == STARTS_WHEN_DATA_RUNS_OUT and \
                    not kind.can_start_when_data_runs_out:
                raise ValidationFailed(_("Only a renewal can start when the data runs out."),
                                       code="starts_not_supported")
            priced.append(kind.price(user=user, line=line, currency=code))
        except DomainError as error:
            error.detail = {**(error.detail or {}), "line": index}
            raise
    for index, each in enumerate(priced):
        kinds.kind_for(each.type).check_order(priced=priced, index=index)
    return priced


def total_of(priced: list[PricedLine], currency: str) -> Money:
    total = Money.zero(currency)
    for line in priced:
        total = total + line.price
    return total


def refund_of(priced: list[PricedLine], currency: str) -> Money:
    """What fulfilling these lines pays back (plan changes whose credit exceeds the price)."""
    return Money(sum(line.refund_amount for line in priced), currency)


def create_order(*, user: Any, lines: list[LineRequest], currency: str,
                 expected_total: int | None = None,
                 expected_refund: int | None = None) -> Order:
    """Price the lines (``price_lines``) and record the order, awaiting payment.

    ``expected_total`` / ``expected_refund``: the amounts the customer was shown; when
    given and the lines now price differently (time passed, data was used), the order is
    refused with 409 ``price_changed`` and the new amounts, never silently charged.
    """
    code = check_currency(currency)
    priced = price_lines(user=user, lines=lines, currency=code)
    total, refund = total_of(priced, code), refund_of(priced, code)
    if (expected_total is not None and expected_total != total.amount) or \
            (expected_refund is not None and expected_refund != refund.amount):
        raise Conflict(_("The price has changed since you saw it: %(total)s to pay, "
                         "%(refund)s to pay back. Please check and confirm again.")
                       % {"total": total, "refund": refund}, code="price_changed",
                       detail={"total": total.amount, "refund": refund.amount,
                               "currency": code})
    with transaction.atomic():
        order = Order.objects.create(user=user, currency=code, total=total.amount,
                                     language=user.language)
        created = OrderLine.objects.bulk_create([
            OrderLine(order=order, type=p.type, plan=p.plan, esim=p.esim,
                      amount=p.price.amount, product=p.product, when=p.when,
                      replaced_period=p.replaced_period,
                      credit=p.credit_amount, refund_amount=p.refund_amount,
                      low_data=p.low_data)
            for p in priced
        ])
        by_kind: dict[str, list[tuple[OrderLine, PricedLine]]] = {}
        for row, p in zip(created, priced, strict=True):
            by_kind.setdefault(p.type, []).append((row, p))
        for line_type, rows in by_kind.items():
            kinds.kind_for(line_type).record(lines=rows)
        audit.record_by_user(user=user, action="order.create", obj=order,
                             after={"number": order.number, "total": order.total,
                                    "currency": code, "lines": len(created),
                                    "quotes": [p.quote for p in priced if p.quote]})
        metrics.count_on_commit(metrics.ORDERS_PLACED.labels(code).inc)
    return order


def mark_paid(*, order_id: int, provider: str, method: str, actor: str) -> Order:
    """Record that the order is paid and queue its fulfilment (in the same transaction).

    Idempotent: an order already paid is returned unchanged and nothing is queued again.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != Order.Status.AWAITING_PAYMENT:
            return order
        ORDER_STATES.check(order.status, Order.Status.PAID)
        order.status = Order.Status.PAID
        order.paid_at = clock.now()
        order.paid_provider = provider
        order.paid_method = method[:100]
        order.save(update_fields=["status", "paid_at", "paid_provider", "paid_method"])
        audit.record(action="order.paid", obj=order, actor_type="provider", actor=actor,
                     before={"status": Order.Status.AWAITING_PAYMENT},
                     after={"status": order.status, "provider": provider, "method": method})
        fulfil_order_task.enqueue(order.pk)
        metrics.count_on_commit(metrics.ORDERS_PAID.labels(order.currency).inc)
    return order


def fulfil_order(*, order_id: int, attempt: int = 1, since: str | None = None) -> str:
    """Create what each paid line bought. Safe to run any number of times.

    Upstream calls happen outside any database transaction and carry the line's reference,
    so a retry after a crash reuses the profile or plan application made the first time.
    A passing failure is retried with backoff (never sooner than the supplier asked, see
    ``RetryableUpstreamError.retry_after``) until the activation deadline, counted from
    ``since`` (ISO time a staff retry began) or else from payment; see ``activation``.
    A supplier's refusal for good fails the order at once. Anything else that goes wrong
    (a supplier's answer esimdesk cannot record, a database hiccup) is logged with its
    traceback and retried the same way: a paid order always ends fulfilled or, past the
    deadline, failed with staff and the customer told; never a dead task and an order left
    "paid" with nobody the wiser.
    """
    order = Order.objects.get(pk=order_id)
    if order.status not in (Order.Status.PAID, Order.Status.FULFILMENT_FAILED):
        return order.status
    try:
        for line in order.lines.filter(fulfilled_at__isnull=True).select_related(
                "plan", "esim", "product", "replaced_period", "order"):
            kinds.kind_for(line.type).fulfil(line)
    except FinalUpstreamError as error:
        _fail(order_id, str(error), since)
        return "failed"
    except RetryableUpstreamError as error:
        return _retry_or_fail(order, attempt, since, error)
    except Exception as error:
        logger.exception("order %s: fulfilment failed", order.number)
        return _retry_or_fail(order, attempt, since, error)
    return _complete(order_id)


def _retry_or_fail(order: Order, attempt: int, since: str | None, error: Exception) -> str:
    """Queue the next try after the backoff while the deadline is ahead; else fail."""
    what = str(error) if isinstance(error, UpstreamError) else \
        f"{type(error).__name__}: {error}"
    started = dt.datetime.fromisoformat(since) if since else order.paid_at or order.created_at
    backoff = activation.retry_delay(attempt)
    deadline = activation.deadline_after(started)
    # Never sooner than the supplier asked (a 429's Retry-After), unless that is past the
    # deadline: then at the backoff, as the order would otherwise give up unasked (and
    # the tries counted there are what moves it on to the next supplier).
    run_after = clock.now() + wait_before_retry(error, backoff)
    if run_after >= deadline:
        run_after = clock.now() + backoff
    if run_after < deadline:
        fulfil_order_task.using(run_after=run_after).enqueue(order.pk, attempt + 1, since)
        logger.warning("order %s: not fulfilled yet (%s), retry %d", order.number, what,
                       attempt)
        return "retrying"
    _fail(order.pk, f"deadline passed after {attempt} tries: {what}", since)
    return "failed"


@task()
def fulfil_order_task(order_id: int, attempt: int = 1, since: str | None = None) -> str:
    """``fulfil_order`` from the worker: enqueued by ``mark_paid`` in the paying transaction,
    again by itself for a retry, and by ``retry_fulfilment``."""
    return fulfil_order(order_id=order_id, attempt=attempt, since=since)


def _fail(order_id: int, reason: str, since: str | None = None) -> None:
    """The order needs attention: marked so, audited (``order.fulfilment_failed``), staff
    and the customer told (``activation.announce_needs_attention``).

    Once per run of attempts: the one that began at payment (``since`` None) or each staff
    retry (``since``, when it began). A staff retry of an order that already needs
    attention, failing again, is audited and mailed to staff again; the customer, told
    once already, is not. A run that ends twice (a task delivered twice) is told once."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        before = order.status
        if before == Order.Status.FULFILMENT_FAILED and (
                since is None or _run_failed_already(order, since)):
            return
        if before != Order.Status.FULFILMENT_FAILED:
            ORDER_STATES.check(order.status, Order.Status.FULFILMENT_FAILED)
            order.status = Order.Status.FULFILMENT_FAILED
            order.save(update_fields=["status"])
            metrics.count_on_commit(metrics.ACTIVATIONS_FAILED.inc)
        # A staff retry's run is named by when it started (shown as "Started" in the history).
        audit.record(action="order.fulfilment_failed", obj=order, actor_type="task",
                     actor="fulfilment", before={"status": before},
                     after={"status": order.status, **({"started": since} if since else {})},
                     reason=reason[:1000])
        activation.announce_needs_attention(order, reason, since=since)


def _run_failed_already(order: Order, since: str) -> bool:
    return AuditEntry.objects.filter(action="order.fulfilment_failed", object_type="order",
                                     object_id=str(order.pk), after__started=since).exists()


def _complete(order_id: int) -> str:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == Order.Status.FULFILLED:
            return order.status
        if order.lines.filter(fulfilled_at__isnull=True).exists():
            return order.status
        before = order.status
        ORDER_STATES.check(order.status, Order.Status.FULFILLED)
        order.status = Order.Status.FULFILLED
        order.fulfilled_at = clock.now()
        order.save(update_fields=["status", "fulfilled_at"])
        record_costs(order)
        issue_receipt(order=order)
        audit.record(action="order.fulfilled", obj=order, actor_type="task",
                     actor="fulfilment", before={"status": before},
                     after={"status": order.status})
        queue_confirmation(order)
        if order.paid_at is not None:
            waited = (order.fulfilled_at - order.paid_at).total_seconds()
            metrics.count_on_commit(lambda: metrics.ACTIVATION_SECONDS.observe(waited))
    return order.status


def issue_receipt(*, order: Order) -> Receipt:
    receipt = Receipt.objects.filter(order=order).first()
    if receipt is not None:
        return receipt
    receipt = Receipt.objects.create(order=order, number=f"tmp-{order.number}",
                                     issued_at=order.paid_at or clock.now())
    receipt.number = f"R-{receipt.issued_at:%Y}-{receipt.pk:06d}"
    receipt.save(update_fields=["number"])
    return receipt


def retry_fulfilment(*, order_ids: list[int], actor: str, reason: str = "") -> int:
    """Staff: try again an order that is paid but not fulfilled (e.g. every supplier failed),
    from the first of the plan's suppliers, with fresh attempt counts and a fresh deadline.
    Returns how many."""
    queued = 0
    with transaction.atomic():
        for order in Order.objects.select_for_update().filter(
                pk__in=order_ids, status__in=[Order.Status.PAID,
                                              Order.Status.FULFILMENT_FAILED]).order_by("pk"):
            order.lines.filter(fulfilled_at__isnull=True).update(supplier_index=0,
                                                                 supplier_attempts=0)
            audit.record(action="order.retry_fulfilment", obj=order, actor_type="staff",
                         actor=actor, after={"status": order.status}, reason=reason)
            # A fresh deadline: counted from now, not from the payment long ago.
            fulfil_order_task.enqueue(order.pk, 1, clock.now().isoformat())
            queued += 1
    return queued
