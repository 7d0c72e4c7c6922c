"""Subscription writes. Adding a period locks the subscription row, so concurrent renewals
queue behind each other and produce back-to-back periods, never overlapping ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max

from esimdesk.catalog.models import Plan
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.subscriptions import validity
from esimdesk.subscriptions.models import PERIOD_STATES, Allowance, Period, Subscription
from esimdesk.subscriptions.queries import next_start


def subscribe_esim(*, esim: Esim, plan: Plan, actor: str = "fulfilment") -> Period:
    """First period of a new eSIM: pending until first use (or install), or starting now
    for a plan whose validity starts at purchase (``subscriptions.validity``)."""
    with transaction.atomic():
        subscription = Subscription.objects.create(esim=esim, plan=plan)
        audit.record(action="subscription.create", obj=subscription, actor_type="task",
                     actor=actor, after={"esim": esim.iccid, "plan": plan.code})
        return add_period(subscription=subscription, plan=plan, actor=actor,
                          pending=plan.validity_starts != Plan.ValidityStarts.PURCHASE)


def add_period(*, subscription: Subscription, plan: Plan, actor: str = "fulfilment",
               now: dt.datetime | None = None, pending: bool = False,
               starts_on_data_out: bool = False) -> Period:
    """Queue the next period of ``plan``.

    It starts when the latest period ends, or now if that end has passed (a renewal after
    expiry starts at once). Behind a period that has not started (pending, or queued
    behind one) it waits without times and gets them when that one starts. ``pending``
    (a new eSIM's first period) makes it pending itself. ``starts_on_data_out`` (a
    renewal for low data) marks it to start as soon as the data of the period before it runs
    out (``subscriptions.data_out``). The subscription row is locked first, so two renewals
    in parallel are applied one after the other.
    """
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        instant = now or clock.now()
        live = locked.periods.exclude(state__in=[Period.State.CANCELLED])
        latest = live.aggregate(end=Max("ends_at"), seq=Max("sequence"))
        last_sequence = locked.periods.aggregate(seq=Max("sequence"))["seq"] or 0
        waiting = live.filter(starts_at__isnull=True).exists()
        starts_at: dt.datetime | None = None
        ends_at: dt.datetime | None = None
        activate_by = None
        if pending and not waiting:
            state = Period.State.PENDING
            activate_by = instant + dt.timedelta(days=plan.activate_within_days)
        elif waiting:
            state = Period.State.SCHEDULED
        else:
            starts_at = next_start(latest["end"], instant)
            ends_at = plan.ends_at(starts_at)
            state = Period.State.ACTIVE if starts_at <= instant else Period.State.SCHEDULED
        period = Period.objects.create(
            subscription=locked, sequence=last_sequence + 1, plan=plan, starts_at=starts_at,
            ends_at=ends_at, state=state, activate_by=activate_by,
            starts_on_data_out=starts_on_data_out)
        Allowance.objects.bulk_create([
            Allowance(period=period, kind=kind, total=total) for kind, total in plan.allowances()
        ])
        if locked.plan_id != plan.pk:
            locked.plan = plan
            locked.save(update_fields=["plan"])
        audit.record(action="period.create", obj=period, actor_type="task", actor=actor,
                     after={"subscription": locked.pk, "sequence": period.sequence,
                            "plan": plan.code, "starts_at": clock.iso_or_none(starts_at),
                            "ends_at": clock.iso_or_none(ends_at), "state": period.state,
                            **({"activate_by": clock.iso_or_none(activate_by)}
                               if activate_by else {}),
                            **({"starts_on_data_out": True} if starts_on_data_out else {})})
        return period



def set_period_state(*, period: Period, to: str, actor_type: str = "task",
                     actor: str = "scheduler", reason: str = "") -> Period:
    PERIOD_STATES.check(period.state, to)
    before = period.state
    period.state = to
    period.save(update_fields=["state"])
    audit.record(action="period.state", obj=period, actor_type=actor_type, actor=actor,
                 before={"state": before}, after={"state": to}, reason=reason)
    return period


def sync_period_states(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Scheduler sweep: start periods whose time has come, end those whose time is over.

    Set-based and idempotent; safe to run twice or on two machines at once (each row moves
    once because the UPDATE filters on the state it moves from).
    """
    instant = now or clock.now()
    overdue = validity.start_overdue(now=instant)
    with transaction.atomic():
        ended_ids = list(Period.objects.filter(
            state__in=[Period.State.SCHEDULED, Period.State.ACTIVE], ends_at__lte=instant)
            .values_list("id", flat=True)[:10000])
        ended = Period.objects.filter(id__in=ended_ids, state__in=[
            Period.State.SCHEDULED, Period.State.ACTIVE]).update(state=Period.State.ENDED)
        started_ids = list(Period.objects.filter(
            state=Period.State.SCHEDULED, starts_at__lte=instant, ends_at__gt=instant)
            .values_list("id", flat=True)[:10000])
        started = Period.objects.filter(id__in=started_ids, state=Period.State.SCHEDULED).update(
            state=Period.State.ACTIVE)
        audit_rows = [AuditEntry(actor_type="task", actor="scheduler",
                                       action="period.state", object_type="period",
                                       object_id=str(pk), before=None, after={"state": state})
                      for ids, state in ((ended_ids, "ended"), (started_ids, "active"))
                      for pk in ids]
        AuditEntry.objects.bulk_create(audit_rows)
    return {"ended": ended, "started": started + overdue}


def set_auto_renew(*, user: Any, subscription: Subscription, enabled: bool) -> Subscription:
    with transaction.atomic():
        before = subscription.auto_renew
        subscription.auto_renew = enabled
        subscription.save(update_fields=["auto_renew"])
        audit.record_by_user(user=user, action="subscription.auto_renew", obj=subscription,
                             before={"auto_renew": before}, after={"auto_renew": enabled})
    return subscription


def update_esim_settings(*, user: Any, esim: Esim, label: str | None = None,
                         auto_renew: bool | None = None) -> Esim:
    """Change an eSIM's ``label`` and the automatic renewal of its plan together (each None:
    unchanged), in one transaction. 409 ``no_subscription`` for ``auto_renew`` on an eSIM
    without a plan; then the label stays as it was too."""
    with transaction.atomic():
        if label is not None:
            esim = esims.set_label(user=user, esim=esim, label=label)
        if auto_renew is not None:
            subscription = getattr(esim, "subscription", None)
            if subscription is None:
                raise Conflict(code="no_subscription")
            set_auto_renew(user=user, subscription=subscription, enabled=auto_renew)
    return esim


def end_period_early(*, period: Period, actor: str, reason: str) -> Period:
    """Take a period back (a refund): one not started yet is cancelled, a running one ends
    now. Later queued periods move up, so the subscription stays back to back."""
    with transaction.atomic():
        locked_sub = Subscription.objects.select_for_update().get(pk=period.subscription_id)
        locked = Period.objects.select_for_update().get(pk=period.pk)
        instant = clock.now()
        if locked.state in (Period.State.CANCELLED, Period.State.ENDED) or (
                locked.ends_at is not None and locked.ends_at <= instant):
            return locked
        end_locked_period_now(period=locked, instant=instant, actor=actor, reason=reason)
        _reflow_after(locked_sub, locked, instant, actor)
        return locked


def end_locked_period_now(*, period: Period, instant: dt.datetime, actor: str,
                          reason: str) -> None:
    """End a period the caller holds locked: cancelled if nothing of it was used (it starts
    now or later), else ended now. Later periods are the caller's business."""
    before = {"state": period.state, "ends_at": clock.iso_or_none(period.ends_at)}
    if period.starts_at is None or period.starts_at >= instant:
        PERIOD_STATES.check(period.state, Period.State.CANCELLED)
        period.state = Period.State.CANCELLED
    else:
        PERIOD_STATES.check(period.state, Period.State.ENDED)
        period.state = Period.State.ENDED
        period.ends_at = instant
    period.save(update_fields=["state", "ends_at"])
    audit.record(action="period.ended_early", obj=period, actor_type="task", actor=actor,
                 before=before, after={"state": period.state,
                                       "ends_at": clock.iso_or_none(period.ends_at)},
                 reason=reason)


def _reflow_after(subscription: Subscription, removed: Period, instant: dt.datetime,
                  actor: str) -> None:
    if removed.starts_at is None:
        _next_waits(subscription, removed, actor)
        return
    kept_end = (subscription.periods.exclude(state=Period.State.CANCELLED)
                .filter(sequence__lt=removed.sequence).aggregate(end=Max("ends_at"))["end"])
    if removed.state == Period.State.ENDED:
        kept_end = removed.ends_at
    for later in (subscription.periods.select_for_update()
                  .filter(sequence__gt=removed.sequence, state=Period.State.SCHEDULED,
                          starts_at__isnull=False)
                  .order_by("sequence")):
        starts_at = next_start(kept_end, instant)
        if starts_at != later.starts_at:
            before = clock.iso_or_none(later.starts_at)
            later.starts_at = starts_at
            later.ends_at = later.plan.ends_at(starts_at)
            if starts_at <= instant:
                later.state = Period.State.ACTIVE
            later.save(update_fields=["starts_at", "ends_at", "state"])
            audit.record(action="period.moved", obj=later, actor_type="task", actor=actor,
                         before={"starts_at": before},
                         after={"starts_at": starts_at.isoformat(),
                                "ends_at": later.ends_at.isoformat()},
                         reason="an earlier period was refunded")
        kept_end = later.ends_at


def _next_waits(subscription: Subscription, removed: Period, actor: str) -> None:
    """A period that had not started was taken back: the first one queued behind it (if
    any) is now the one waiting for first use, with the same deadline; the others keep
    waiting behind it."""
    if removed.activate_by is None:
        return  # it was queued behind a pending period, which still waits
    following = (subscription.periods.select_for_update()
                 .filter(sequence__gt=removed.sequence, state=Period.State.SCHEDULED,
                         starts_at__isnull=True).order_by("sequence").first())
    if following is None:
        return
    following.state = Period.State.PENDING
    following.activate_by = removed.activate_by
    following.save(update_fields=["state", "activate_by"])
    audit.record(action="period.state", obj=following, actor_type="task", actor=actor,
                 before={"state": Period.State.SCHEDULED},
                 after={"state": Period.State.PENDING}, reason="the period before it was "
                 "refunded before it started")
