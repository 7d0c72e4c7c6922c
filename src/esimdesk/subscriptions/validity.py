"""When validity starts: the pending period of a new eSIM starts at first use.

A plan says when a new eSIM's period starts counting (``Plan.validity_starts``):
``first_use`` (the eSIM first connects), ``install`` or ``purchase``. Until then the period
is pending (``Period.State.PENDING``: no start, no end, ``activate_by``, full allowances).
It starts, once, at the earliest of:

- the supplier's ``first_use`` report, or its ``installed``/``enabled`` report when the plan
  starts at install or the supplier cannot report first use (``reports_first_use`` on the
  adapter; ES2+ cannot) — ``on_profile_reported``;
- the first usage record charged to the eSIM, at its ``occurred_at`` (both ingestion paths
  call ``start_on_usage`` first in their transaction);
- the traveller's *Start now* (``start_now``);
- ``activate_by``, by itself (``start_overdue``, run by the periods sweep).

The start time is the event's time (not when the report arrived), never before the period
was bought and never in the future. Starting locks the subscription row and re-reads the
state, so two reports or two usage batches at once start it once; every period queued
behind it gets its times back to back in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction

from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict
from esimdesk.esims.models import Esim
from esimdesk.provisioning import registry as suppliers
from esimdesk.provisioning.suppliers.base import ProfileStatus, ProfileStatusEvent
from esimdesk.subscriptions.models import PERIOD_STATES, Period, Subscription

logger = logging.getLogger(__name__)

#: reports that start a pending period whose plan starts at install
_INSTALL_REPORTS = (ProfileStatus.INSTALLED, ProfileStatus.ENABLED)


def start(*, subscription_id: int, at: dt.datetime, actor_type: str, actor: str,
          reason: str) -> Period | None:
    """Start the subscription's pending period at ``at`` (clamped to the purchase and to
    now) and give the periods queued behind it their times. None when nothing is pending
    (already started, cancelled, or never pending): calling again changes nothing."""
    with transaction.atomic():
        Subscription.objects.select_for_update().get(pk=subscription_id)
        period = (Period.objects.select_for_update().select_related("plan")
                  .filter(subscription_id=subscription_id, state=Period.State.PENDING)
                  .order_by("sequence").first())
        if period is None:
            return None
        instant = clock.now()
        starts_at = min(max(at, period.created_at), instant)
        _place(period, starts_at, instant)
        audit.record(action="period.started", obj=period, actor_type=actor_type, actor=actor,
                     before={"state": Period.State.PENDING},
                     after={"state": period.state, "starts_at": starts_at.isoformat(),
                            "ends_at": _iso(period.ends_at)}, reason=reason)
        cursor = period.ends_at
        for later in (Period.objects.select_for_update().select_related("plan")
                      .filter(subscription_id=subscription_id, state=Period.State.SCHEDULED,
                              starts_at__isnull=True).order_by("sequence")):
            assert cursor is not None
            _place(later, cursor, instant)
            audit.record(action="period.moved", obj=later, actor_type=actor_type, actor=actor,
                         after={"starts_at": _iso(later.starts_at),
                                "ends_at": _iso(later.ends_at), "state": later.state},
                         reason="the period before it started")
            cursor = later.ends_at
        return period


def _place(period: Period, starts_at: dt.datetime, instant: dt.datetime) -> None:
    ends_at = period.end_from(starts_at)
    if ends_at <= instant:
        state = Period.State.ENDED
    elif starts_at <= instant:
        state = Period.State.ACTIVE
    else:
        state = Period.State.SCHEDULED
    if state != period.state:
        PERIOD_STATES.check(period.state, state)
    period.starts_at, period.ends_at, period.state = starts_at, ends_at, state
    period.save(update_fields=["starts_at", "ends_at", "state"])


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def pending_period(subscription: Subscription | int | None) -> Period | None:
    if subscription is None:
        return None
    sub_id = subscription if isinstance(subscription, int) else subscription.pk
    return (Period.objects.select_related("plan")
            .filter(subscription_id=sub_id, state=Period.State.PENDING)
            .order_by("sequence").first())


def start_now(*, user: Any, esim: Esim) -> Period:
    """The traveller's *Start now*: the pending period starts this instant. 409
    ``not_pending`` when the eSIM has no plan waiting to start."""
    subscription = Subscription.objects.filter(esim=esim).first()
    period = pending_period(subscription)
    if subscription is None or period is None:
        raise Conflict(code="not_pending")
    started = start(subscription_id=subscription.pk, at=clock.now(), actor_type="user",
                    actor=str(getattr(user, "pk", "")), reason="started by the traveller")
    if started is None:  # started meanwhile by a report or usage
        raise Conflict(code="not_pending")
    return started


def start_overdue(*, now: dt.datetime | None = None) -> int:
    """Pending periods whose ``activate_by`` has come start at that time (the periods
    sweep; a late sweep still starts them at ``activate_by``)."""
    instant = now or clock.now()
    due = list(Period.objects.filter(state=Period.State.PENDING, activate_by__lte=instant)
               .order_by("subscription_id").values_list("subscription_id", "activate_by")[:1000])
    started = 0
    for subscription_id, activate_by in due:
        if start(subscription_id=subscription_id, at=activate_by, actor_type="task",
                 actor="scheduler", reason="activation deadline reached") is not None:
            started += 1
    return started


def start_on_usage(first_seen: dict[str, dt.datetime]) -> int:
    """Usage is first use: for each ICCID whose eSIM has a pending period, start it at the
    earliest ``occurred_at`` the batch brings (``first_seen``, ICCID -> time). Called by
    usage ingestion first thing in its transaction, so the records are charged to the
    started period in the same transaction; subscriptions are locked in id order."""
    if not first_seen:
        return 0
    rows = sorted(Period.objects.filter(state=Period.State.PENDING,
                                        subscription__esim__iccid__in=list(first_seen))
                  .values_list("subscription_id", "subscription__esim__iccid").distinct())
    started = 0
    for subscription_id, iccid in rows:
        if start(subscription_id=subscription_id, at=first_seen[iccid], actor_type="task",
                 actor="usage", reason="first usage record") is not None:
            started += 1
    return started


def on_profile_reported(sender: Any, *, esim: Esim, provider: str,
                        event: ProfileStatusEvent, **kwargs: Any) -> None:
    """``esims.upstream_reports.profile_reported``: a report that means first use (or
    install, where that is when the plan starts) starts the pending period at the report's
    time."""
    if event.status not in (ProfileStatus.FIRST_USE, *_INSTALL_REPORTS):
        return
    subscription_id = (Subscription.objects.filter(esim=esim)
                       .values_list("pk", flat=True).first())
    period = pending_period(subscription_id)
    if subscription_id is None or period is None:
        return
    starts = period.plan.validity_starts
    if event.status != ProfileStatus.FIRST_USE and not (
            starts == period.plan.ValidityStarts.INSTALL
            or not suppliers.reports_first_use(esim.upstream)):
        return
    start(subscription_id=subscription_id, at=event.occurred_at or clock.now(),
          actor_type="provider", actor=provider, reason=f"{provider} {event.status}")
