"""Automatic renewal with a saved payment method, and dunning when it is declined.

The sweep finds subscriptions with auto-renew on whose current period is their last and has
reached a trigger (``ESIMDESK_AUTO_RENEW_DATA_LEFT`` % of data left, or
``ESIMDESK_AUTO_RENEW_BEFORE`` before the end, whichever comes first) and records a
``RenewalAttempt`` for the next period's sequence: unique, so that period is bought once
however many schedulers run. An attempt recorded while the data trigger holds is for low
data (``low_data``): its renewal starts the moment the data runs out, not at the period's
end (``subscriptions.data_out``), so the traveller is never throttled in between. Due
attempts are claimed with one conditional UPDATE and charged by a task:

- the renewal order is created once per attempt (the plan of the current period, in the
  currency the customer last paid in);
- saved methods are tried in order (default first); a declined one falls back to the next;
- when all are declined, the attempt waits and tries again (``ESIMDESK_AUTO_RENEW_RETRIES``,
  e.g. +1 h, +6 h, +24 h); the customer is told at the first decline and when it gives up,
  each time with a one-tap link to pay the same order themselves;
- a charge whose outcome is unknown is retried later with the same payment id, which the
  provider treats as the same charge: never a second charge;
- the provider is called with no transaction open and no row locked (a lease on the
  attempt keeps a second run of the same task from charging too);
- where no saved method can be charged off-session, the customer gets the pay link at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django_tasks import task

from esimdesk import config
from esimdesk.core import audit, clock, metrics
from esimdesk.core.errors import DomainError
from esimdesk.notifications import services as notifications
from esimdesk.orders import services as orders
from esimdesk.orders.lines import STARTS_WHEN_DATA_RUNS_OUT
from esimdesk.orders.models import Order
from esimdesk.payments import registry
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment, RenewalAttempt, SavedMethod, new_payment_id
from esimdesk.payments.providers.base import (
    ProviderError,
    RetryableProviderError,
)
from esimdesk.payments.providers.base import (
    SavedMethod as ProviderSavedMethod,
)
from esimdesk.subscriptions.models import Period, Subscription
from esimdesk.subscriptions.reminders import parse_duration

logger = logging.getLogger(__name__)
UNKNOWN_RETRY = dt.timedelta(minutes=10)
# Longer than a charge of every saved method may take; a run stopped mid-charge leaves the
# attempt to a run after it.
CHARGE_LEASE = dt.timedelta(minutes=10)

_DUE_SQL = """
INSERT INTO payments_renewalattempt
    (subscription_id, sequence, state, tries, next_try_at, current_payment_id, methods_tried,
     last_error, low_data, created_at, updated_at)
SELECT due.subscription_id, due.sequence + 1, 'scheduled', 0, %s, '', '[]', '', due.low_data,
       %s, %s
  FROM (SELECT s.id AS subscription_id, p.sequence, p.ends_at,
               EXISTS (SELECT 1 FROM subscriptions_allowance a
                        WHERE a.period_id = p.id AND a.kind = 'data'
                        GROUP BY a.period_id
                       HAVING SUM(a.total) > 0
                          AND (SUM(a.total) - SUM(a.used)) * 100 <= SUM(a.total) * %s
                       ) AS low_data
          FROM subscriptions_subscription s
          JOIN subscriptions_period p ON p.subscription_id = s.id
         WHERE s.auto_renew
           AND p.state <> 'cancelled' AND p.starts_at <= %s AND p.ends_at > %s
           AND NOT EXISTS (SELECT 1 FROM subscriptions_period later
                            WHERE later.subscription_id = p.subscription_id
                              AND later.sequence > p.sequence
                              AND later.state <> 'cancelled')) due
 WHERE due.ends_at <= %s OR due.low_data
ON CONFLICT (subscription_id, sequence) DO NOTHING
"""


def record_due_renewals(*, now: dt.datetime | None = None) -> int:
    """One set-based statement: a RenewalAttempt for every subscription that needs one."""
    instant = now or clock.now()
    before = parse_duration(config.env("ESIMDESK_AUTO_RENEW_BEFORE"))
    percent_left = int(config.env("ESIMDESK_AUTO_RENEW_DATA_LEFT"))
    with transaction.atomic(), connection.cursor() as cursor:
        at = [clock.db_value(i) for i in (instant, instant, instant, instant, instant,
                                           instant + before)]
        cursor.execute(_DUE_SQL, [*at[:3], percent_left, *at[3:]])
        return int(cursor.rowcount)


def claim_due_attempts(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Mark due attempts as charging and queue their charge, in one transaction. The UPDATE
    only moves rows still in a waiting state, so two schedulers never claim the same one."""
    instant = now or clock.now()
    with transaction.atomic():
        ids = list(RenewalAttempt.objects.filter(
            state__in=[RenewalAttempt.State.SCHEDULED, RenewalAttempt.State.RETRY_WAIT],
            next_try_at__lte=instant).order_by("next_try_at").values_list("pk", flat=True)[:limit])
        claimed = []
        for pk in ids:
            moved = RenewalAttempt.objects.filter(
                pk=pk, state__in=[RenewalAttempt.State.SCHEDULED,
                                  RenewalAttempt.State.RETRY_WAIT]).update(
                state=RenewalAttempt.State.CHARGING, updated_at=instant)
            if moved:
                claimed.append(pk)
                charge_renewal_task.enqueue(pk)
    return claimed


def renewals_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    recorded = record_due_renewals(now=now)
    claimed = claim_due_attempts(now=now)
    return {"recorded": recorded, "charging": len(claimed)}


# -- one attempt ----------------------------------------------------------------------------


@task()
def charge_renewal_task(attempt_id: int) -> str:
    """``charge_renewal`` from the worker: enqueued by ``claim_due_attempts``."""
    return charge_renewal(attempt_id=attempt_id)


def charge_renewal(*, attempt_id: int) -> str:
    """Charge one claimed attempt (the task). No provider is called inside a transaction:
    the run first takes the attempt's lease under its row lock (while charging,
    ``next_try_at`` is the time until which a run holds it), then charges with no lock held.
    The same task run twice at once (a redelivery, a second worker) therefore charges once:
    the second finds the lease held, or the attempt settled, and leaves it."""
    with transaction.atomic():
        attempt = (RenewalAttempt.objects.select_for_update(of=("self",))
                   .select_related("subscription__esim__owner", "subscription__plan")
                   .get(pk=attempt_id))
        if attempt.state != RenewalAttempt.State.CHARGING or attempt.next_try_at > clock.now():
            return attempt.state
        attempt.next_try_at = clock.now() + CHARGE_LEASE
        attempt.save(update_fields=["next_try_at"])
    return _charge_attempt(attempt)


def _charge_attempt(attempt: RenewalAttempt) -> str:
    try:
        order = _order_for(attempt)
    except DomainError as error:  # e.g. the plan is no longer sold in that currency
        return _give_up(attempt, f"{error.code}: {error.message}", order=None)
    if order.status != Order.Status.AWAITING_PAYMENT:
        return _finish(attempt, RenewalAttempt.State.SUCCEEDED, "paid")
    if Period.objects.filter(subscription=attempt.subscription, sequence__gte=attempt.sequence
                             ).exclude(state=Period.State.CANCELLED).exists():
        # Renewed or re-planned by hand meanwhile: this period is already bought.
        return _finish(attempt, RenewalAttempt.State.FAILED, "superseded")
    methods = _chargeable_methods(attempt, order)
    if not methods:
        return _send_pay_link(attempt, order)
    for method in methods:
        outcome = _charge(attempt, order, method)
        if outcome == "succeeded":
            return _finish(attempt, RenewalAttempt.State.SUCCEEDED, "charged")
        if outcome == "unknown":
            return _wait(attempt, UNKNOWN_RETRY, "outcome unknown, asking again later")
    return _declined_round(attempt, order)


# Makes the order of a group subscription's renewal; set by the app that owns group plans
# (``sharedplans``) in its ``ready``, since payments sits below it.
_group_renewal_order: Callable[[RenewalAttempt], Order] | None = None


def set_group_renewal_order(make: Callable[[RenewalAttempt], Order]) -> None:
    global _group_renewal_order
    _group_renewal_order = make


def _order_for(attempt: RenewalAttempt) -> Order:
    if attempt.order_id is not None:
        return Order.objects.get(pk=attempt.order_id)
    if attempt.subscription.group_id is not None:  # a pool: the owner pays for every seat
        if _group_renewal_order is None:
            raise LookupError("a group subscription is due for renewal but no installed app "
                              "makes group renewal orders")
        return _group_renewal_order(attempt)
    subscription = attempt.subscription
    esim = subscription.esim
    assert esim is not None
    user = esim.owner
    latest = (Period.objects.filter(subscription=subscription)
              .exclude(state=Period.State.CANCELLED).order_by("-sequence").first())
    plan = latest.plan if latest else subscription.plan
    last_paid = (Order.objects.filter(lines__esim=esim, status=Order.Status.FULFILLED)
                 .order_by("-created_at").values_list("currency", flat=True).first())
    with transaction.atomic():
        locked = RenewalAttempt.objects.select_for_update().get(pk=attempt.pk)
        if locked.order_id is not None:
            return Order.objects.get(pk=locked.order_id)
        # Bought because data ran low: it starts when the data runs out.
        starts = STARTS_WHEN_DATA_RUNS_OUT if attempt.low_data else None
        order = orders.create_order(
            user=user, currency=last_paid or user.preferred_currency,
            lines=[orders.LineRequest(type="renewal", plan=plan.code, iccid=esim.iccid,
                                      starts=starts)])
        locked.order = order
        locked.save(update_fields=["order"])
        attempt.order = order
    return order


def _chargeable_methods(attempt: RenewalAttempt, order: Order) -> list[SavedMethod]:
    enabled = {p.name: p for p in registry.enabled()}
    methods = (SavedMethod.objects.filter(user_id=order.user_id, removed_at__isnull=True)
               .order_by("-is_default", "created_at"))
    return [m for m in methods
            if m.provider in enabled and enabled[m.provider].supports_saved_methods
            and enabled[m.provider].supports(order.currency)
            and m.pk not in attempt.methods_tried]


def _charge(attempt: RenewalAttempt, order: Order, method: SavedMethod) -> str:
    """One off-session charge. Returns succeeded, declined or unknown."""
    payment_id = attempt.current_payment_id or new_payment_id()
    RenewalAttempt.objects.filter(pk=attempt.pk).update(current_payment_id=payment_id)
    adapter = registry.get(method.provider)
    try:
        event = adapter.charge_saved(
            payment_id=payment_id, amount=order.total_money, description=order.number,
            customer_ref=f"user-{order.user_id}",
            method=ProviderSavedMethod(token=method.token, label=method.label,
                                       customer_token=method.customer_token))
    except RetryableProviderError as error:
        logger.warning("renewal %s: charge outcome unknown: %s", attempt.pk, error)
        return "unknown"
    except ProviderError as error:
        _tried(attempt, method, f"{error.code}: {error}")
        return "declined"
    _record_payment(order, method, payment_id, event.provider_reference)
    outcome = payments.apply_event(provider=adapter.name, event=event)
    if outcome in ("succeeded", "ignored_succeeded"):
        return "succeeded"
    _tried(attempt, method, event.failure_message or event.failure_code or outcome)
    return "declined"


def _record_payment(order: Order, method: SavedMethod, payment_id: str, reference: str) -> None:
    try:
        with transaction.atomic():
            Payment.objects.create(public_id=payment_id, order=order, provider=method.provider,
                                   provider_reference=reference, amount=order.total,
                                   currency=order.currency, off_session=True,
                                   method=method.label)
    except IntegrityError:
        pass  # the same charge seen again after an unknown outcome: already recorded


def _tried(attempt: RenewalAttempt, method: SavedMethod, error: str) -> None:
    attempt.methods_tried = [*attempt.methods_tried, method.pk]
    attempt.current_payment_id = ""  # a definite decline: the next charge is a new one
    attempt.last_error = error[:255]
    attempt.save(update_fields=["methods_tried", "current_payment_id", "last_error"])


def _declined_round(attempt: RenewalAttempt, order: Order) -> str:
    schedule = [parse_duration(t) for t in config.env("ESIMDESK_AUTO_RENEW_RETRIES").split(",")
                if t.strip()]
    attempt.tries += 1
    attempt.methods_tried = []
    attempt.save(update_fields=["tries", "methods_tried"])
    metrics.RENEWALS.labels("declined").inc()
    if attempt.tries == 1:
        _tell(attempt, order, "renewal_declined")
    if attempt.tries > len(schedule):
        return _give_up(attempt, attempt.last_error, order=order)
    return _wait(attempt, schedule[attempt.tries - 1], attempt.last_error)


def _wait(attempt: RenewalAttempt, delay: dt.timedelta, reason: str) -> str:
    RenewalAttempt.objects.filter(pk=attempt.pk).update(
        state=RenewalAttempt.State.RETRY_WAIT, next_try_at=clock.now() + delay,
        last_error=reason[:255], updated_at=clock.now())
    return RenewalAttempt.State.RETRY_WAIT


def _give_up(attempt: RenewalAttempt, reason: str, *, order: Order | None) -> str:
    if order is not None:
        _tell(attempt, order, "renewal_failed")
    return _finish(attempt, RenewalAttempt.State.FAILED, reason)


def _send_pay_link(attempt: RenewalAttempt, order: Order) -> str:
    _tell(attempt, order, "renewal_pay_link")
    return _finish(attempt, RenewalAttempt.State.PAY_LINK_SENT, "no method can be charged")


_FINISHED_AS = {RenewalAttempt.State.SUCCEEDED: "succeeded",
                RenewalAttempt.State.FAILED: "failed",
                RenewalAttempt.State.PAY_LINK_SENT: "pay_link_sent"}


def _finish(attempt: RenewalAttempt, state: str, reason: str) -> str:
    outcome = "superseded" if reason == "superseded" else _FINISHED_AS.get(state, state)
    metrics.count_on_commit(metrics.RENEWALS.labels(outcome).inc)
    with transaction.atomic():
        before = RenewalAttempt.objects.select_for_update().get(pk=attempt.pk).state
        RenewalAttempt.objects.filter(pk=attempt.pk).update(state=state, updated_at=clock.now(),
                                                            last_error=reason[:255])
        audit.record(action="renewal.state", obj=attempt, actor_type="task",
                     actor="auto-renew", before={"state": before}, after={"state": state},
                     reason=reason[:500])
    return state


def _tell(attempt: RenewalAttempt, order: Order, template: str) -> None:
    # A pool's messages name the group where a personal one names the eSIM.
    esim = attempt.subscription.esim or attempt.subscription.group
    assert esim is not None
    context: dict[str, Any] = {
        "esim": esim, "order": order, "attempt": attempt,
        "pay_url": settings.PUBLIC_URL + reverse("portal:order", args=[order.number]),
        "error": attempt.last_error,
    }
    notifications.notify(user=order.user, kind=template, template=template, context=context,
                         dedupe_key=f"{template}:{attempt.pk}", transactional=True)


def upcoming_renewals(subscriptions: list[Subscription]) -> dict[int, RenewalAttempt]:
    """The latest renewal attempt of each subscription (for the portal and the API)."""
    latest: dict[int, RenewalAttempt] = {}
    for attempt in RenewalAttempt.objects.filter(
            subscription__in=subscriptions).order_by("subscription_id", "-sequence"):
        latest.setdefault(attempt.subscription_id, attempt)
    return latest
