"""Renewals for low data: a queued period that starts the moment the data runs out.

A renewal bought because data ran low (auto-renew's low-data trigger, or the traveller's
choice "when my data runs out") is queued like any renewal, marked
``Period.starts_on_data_out``. It starts, once, at the earliest of:

- the moment the data of the period before it runs out: the usage ingestion transaction
  that writes that period's ``ReminderLog(kind="depleted")`` (unique per period, so once
  under concurrent batches, on both ingestion paths) calls ``start_on_data_out`` with the
  instant it records. The period before it ends then (its unused days are gone: the
  traveller is told before buying), the marked one starts then with its full validity, and
  later queued periods move up back to back;
- the purchase, when the data had already run out (``start_if_data_out``, called by the
  renewal's fulfilment in the transaction that adds the period);
- the end of the period before it, as any queued period, when the data lasts.

Upstream, the old plan is ended and the new one applied and lifted together, by one
idempotent task (``data_out_upstream_task``) enqueued in the same transaction: ``end_plan``
for the old plan, ``apply_plan`` again under the reference the renewal's fulfilment used
(the supplier answers the first application, so the plan is never applied twice; after
``end_plan`` it runs at once) and ``lift_depletion``. The throttle or stop of the old plan's
depletion is then not applied at all, and one applied before (the renewal was bought after
the data ran out) is lifted. The app that sells renewals says under which reference a
period's plan was applied (``set_application_reference``, filled by ``orders``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django_tasks import task

from esimdesk.catalog import bundles as supplier_bundles
from esimdesk.core import audit, clock
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.retrying import call_from_task
from esimdesk.provisioning.suppliers.base import FinalUpstreamError
from esimdesk.subscriptions.changes import push_queued
from esimdesk.subscriptions.models import (
    PERIOD_STATES,
    Allowance,
    Period,
    ReminderLog,
    Subscription,
)
from esimdesk.subscriptions.services import end_locked_period_now

logger = logging.getLogger(__name__)

#: the ``ReminderLog.kind`` usage ingestion writes once when a period's data runs out
DEPLETED = "depleted"
_OVER = (Period.State.CANCELLED, Period.State.ENDED)

# The upstream reference under which a period's plan was applied (the order line that
# bought it), or None; set by ``orders`` in its ``ready``, since subscriptions sits below.
_application_reference: list[Callable[[Period], str | None]] = []


def set_application_reference(find: Callable[[Period], str | None]) -> None:
    _application_reference[:] = [find]


@dataclass(frozen=True)
class Switch:
    """A low-data renewal that started: ``ended`` ran out of data at ``at``, ``started``
    runs from then."""

    ended: int
    started: int
    at: dt.datetime


def start_on_data_out(period_ids: list[int], *, at: dt.datetime) -> list[Switch]:
    """Inside the ingestion transaction that recorded these periods' data as used up at
    ``at``: start the low-data renewal queued right after each of them, if there is one.
    Returns what started; the caller applies the usual depletion (throttle or stop) to the
    others. Subscriptions are locked in id order."""
    if not period_ids:
        return []
    rows = sorted(Period.objects.filter(id__in=period_ids)
                  .values_list("subscription_id", "id"))
    switches = []
    for subscription_id, period_id in rows:
        switch = _switch(subscription_id=subscription_id, old_id=period_id, at=at,
                         actor="usage", reason="data used up")
        if switch is not None:
            switches.append(switch)
    return switches


def start_if_data_out(period: Period, *, actor: str) -> Switch | None:
    """A low-data renewal just queued (``period``, in the caller's transaction): when the
    data of the period running before it has already run out, it starts now."""
    if not period.starts_on_data_out or period.starts_at is None:
        return None
    before = (Period.objects.filter(subscription_id=period.subscription_id,
                                    sequence__lt=period.sequence)
              .exclude(state__in=_OVER).order_by("-sequence").first())
    if before is None or not ReminderLog.objects.filter(period=before, kind=DEPLETED).exists():
        return None
    data = Allowance.objects.filter(period=before, kind=Allowance.Kind.DATA).aggregate(
        total=Sum("total"), used=Sum("used"))
    if (data["used"] or 0) < (data["total"] or 0):
        return None  # a top-up since gave it data again: it starts at that plan's end
    return _switch(subscription_id=period.subscription_id, old_id=before.pk, at=clock.now(),
                   actor=actor, reason="bought after the data ran out")


def _switch(*, subscription_id: int, old_id: int, at: dt.datetime, actor: str,
            reason: str) -> Switch | None:
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        periods = list(Period.objects.select_for_update().select_related("plan")
                       .filter(subscription_id=subscription_id).order_by("sequence"))
        old = next((p for p in periods if p.pk == old_id), None)
        if old is None or old.state in _OVER or not old.contains(at):
            return None  # not running at that instant: its successor starts as queued
        following = next((p for p in periods if p.sequence > old.sequence
                          and p.state not in _OVER), None)
        if (following is None or not following.starts_on_data_out
                or following.state != Period.State.SCHEDULED or following.starts_at is None
                or following.starts_at <= at):
            return None
        end_locked_period_now(period=old, instant=at, actor=actor, reason=reason)
        before = {"starts_at": following.starts_at.isoformat(), "state": following.state}
        following.starts_at = at
        following.ends_at = following.end_from(at)
        PERIOD_STATES.check(following.state, Period.State.ACTIVE)
        following.state = Period.State.ACTIVE
        following.save(update_fields=["starts_at", "ends_at", "state"])
        audit.record(action="period.started", obj=following, actor_type="task", actor=actor,
                     before=before, after={"starts_at": at.isoformat(),
                                           "ends_at": following.ends_at.isoformat(),
                                           "state": following.state},
                     reason=f"the data of period {old.sequence} ran out")
        push_queued(subscription, after=following, instant=at, actor=actor,
                    reason="a renewal started when the data ran out")
        data_out_upstream_task.enqueue(old.pk, following.pk)
        return Switch(ended=old.pk, started=following.pk, at=at)


def _tolerant(call: Callable[[], object]) -> None:
    """Run an upstream call; a supplier that does not offer it is no failure here (one
    that cannot end a plan moves to the queued plan by itself when the data runs out)."""
    try:
        call()
    except FinalUpstreamError as error:
        if error.code != "not_supported":
            raise


@task()
def data_out_upstream_task(ended_id: int, started_id: int, attempt: int = 1) -> str:
    """Upstream side of a low-data renewal that started: end the old plan (its remaining
    days) and lift any throttle or stop, in one run, so the new plan applied at fulfilment
    runs at full speed at once. Idempotent on its references; retried as a whole."""
    ended = Period.objects.select_related("subscription__esim").get(pk=ended_id)
    started = Period.objects.select_related("plan").get(pk=started_id)
    esim = ended.subscription.esim
    if esim is None:
        return "group pool"
    supplier = upstream.get(esim.upstream)
    applied = _application_reference[0](started) if _application_reference else None

    def together() -> None:
        _tolerant(lambda: supplier.end_plan(reference=f"esimdesk-data-out-{ended_id}",
                                            iccid=esim.iccid))
        if applied:
            supplier.apply_plan(reference=applied, iccid=esim.iccid,
                                plan_code=supplier_bundles.code_for(started.plan, esim.upstream))
        _tolerant(lambda: supplier.lift_depletion(
            reference=f"esimdesk-data-out-lift-{started_id}", iccid=esim.iccid))

    failed = call_from_task(call=together, retry=data_out_upstream_task,
                            args=(ended_id, started_id), attempt=attempt,
                            what=f"starting the low-data renewal upstream for {esim.iccid}",
                            about=esim)
    if failed:
        return failed
    audit.record(action="esim.renewed_on_data_out_upstream", obj=esim, actor_type="task",
                 actor="usage", after={"ended": ended_id, "started": started_id},
                 reason="data used up, low-data renewal started")
    return "switched"
