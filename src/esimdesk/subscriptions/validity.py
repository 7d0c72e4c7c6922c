"""When validity starts: the pending period of a new eSIM, or a group's new pool, starts at
first use.

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

A family's or organisation's pool (a subscription of a group) whose first period is pending
starts at its first member's first use: the first-use report, or the first usage record, of
any eSIM of an active member (joined by then) starts the group's pending period instead of
the eSIM's own (what such an eSIM uses is charged to the pool, ``sharedplans.pools``); the
owner's or an administrator's *Start now* is ``sharedplans.pool_start``.

The start time is the event's time (not when the report arrived), never before the period
was bought and never in the future. Starting locks the subscription row and re-reads the
state, so two reports or two usage batches at once start it once; every period queued
behind it gets its times back to back in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.db import connection, transaction

from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict
from esimdesk.esims.models import Esim
from esimdesk.groups.models import Membership
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
                            "ends_at": clock.iso_or_none(period.ends_at)}, reason=reason)
        cursor = period.ends_at
        for later in (Period.objects.select_for_update().select_related("plan")
                      .filter(subscription_id=subscription_id, state=Period.State.SCHEDULED,
                              starts_at__isnull=True).order_by("sequence")):
            assert cursor is not None
            _place(later, cursor, instant)
            audit.record(action="period.moved", obj=later, actor_type=actor_type, actor=actor,
                         after={"starts_at": clock.iso_or_none(later.starts_at),
                                "ends_at": clock.iso_or_none(later.ends_at), "state": later.state},
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
    """Usage is first use: for each ICCID whose eSIM has a pending period, or is the eSIM of
    an active member of a group whose pool is pending, start it at the earliest
    ``occurred_at`` the batch brings (``first_seen``, ICCID -> time; for a pool the earliest
    of its members' records from when they joined). An active member's usage starts the
    pool, not the eSIM's own plan: it is charged to the pool. Called by usage ingestion
    first thing in its transaction, so the records are charged to the started period in
    the same transaction; one query finds every pending period of the batch, then the
    subscriptions are locked in id order."""
    if not first_seen or not Period.objects.filter(state=Period.State.PENDING).exists():
        return 0  # no plan waits anywhere: one index probe instead of the query below
    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        cursor.execute(_PENDING_OF_BATCH.format(batch=_batch_of(connection.vendor),
                                                materialized="MATERIALIZED " if postgres else ""),
                       _iccids_param(connection.vendor, list(first_seen)))
        rows = cursor.fetchall()
    starts: dict[int, dt.datetime] = {}
    for subscription_id, own_iccid, member_iccid, joined, pooled in rows:
        joined_at, pooled_at = clock.from_db(joined), clock.from_db(pooled)
        if own_iccid is not None:  # the eSIM's own plan, unless the eSIM draws on a pool
            at = first_seen[own_iccid]
            if pooled_at is not None and pooled_at <= at:
                continue
        else:  # a group's pool: its member's records from when they joined
            at = max(first_seen[member_iccid], joined_at)
        starts[subscription_id] = min(at, starts.get(subscription_id, at))
    started = 0
    for subscription_id in sorted(starts):
        if start(subscription_id=subscription_id, at=starts[subscription_id],
                 actor_type="task", actor="usage", reason="first usage record") is not None:
            started += 1
    return started


# Every pending period a usage batch's ICCIDs reach, in one statement whose parameters do
# not grow with the batch (a 10,000-record batch would otherwise bind ~20,000 parameters,
# which costs more CPU than the query): eSIMs' own pending periods (with when the eSIM
# joined a pool, if it is in one), and groups' pending pools reached through their active
# members' eSIMs. Driven by the few pending periods (the state index), not by the batch.
_PENDING_OF_BATCH = """
WITH batch AS {materialized}({batch})
SELECT p.subscription_id, e.iccid, NULL, NULL,
       (SELECT m.joined_at FROM groups_membership m
         WHERE m.esim_id = e.id AND m.left_at IS NULL ORDER BY m.id LIMIT 1)
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
  JOIN esims_esim e ON e.id = s.esim_id
 WHERE p.state = 'pending' AND e.iccid IN (SELECT iccid FROM batch)
UNION ALL
SELECT p.subscription_id, NULL, e.iccid, m.joined_at, NULL
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
  JOIN groups_membership m ON m.group_id = s.group_id AND m.left_at IS NULL
  JOIN esims_esim e ON e.id = m.esim_id
 WHERE p.state = 'pending' AND e.iccid IN (SELECT iccid FROM batch)
"""


def _batch_of(vendor: str) -> str:
    # One text parameter (ICCIDs are digits): binding a 10,000-element list costs more than
    # the query. (The batch is materialised once on PostgreSQL, for both halves.)
    if vendor == "postgresql":
        return "SELECT unnest(string_to_array(%(iccids)s, ',')) AS iccid"
    return "SELECT value AS iccid FROM json_each(%(iccids)s)"


def _iccids_param(vendor: str, iccids: list[str]) -> dict[str, Any]:
    return {"iccids": ",".join(iccids) if vendor == "postgresql" else json.dumps(iccids)}



def on_profile_reported(sender: Any, *, esim: Esim, provider: str,
                        event: ProfileStatusEvent, **kwargs: Any) -> None:
    """``esims.upstream_reports.profile_reported``: a report that means first use (or
    install, where that is when the plan starts) starts the pending period at the report's
    time: the pool's, when the eSIM is an active member's (joined by then) and its group's
    pool waits, else the eSIM's own."""
    if event.status not in (ProfileStatus.FIRST_USE, *_INSTALL_REPORTS):
        return
    at = event.occurred_at or clock.now()
    member = (Membership.active.filter(esim=esim, joined_at__lte=at)
              .values_list("group_id", flat=True).first())
    owner = Subscription.objects.filter(group_id=member) if member is not None \
        else Subscription.objects.filter(esim=esim)
    subscription_id = owner.values_list("pk", flat=True).first()
    period = pending_period(subscription_id)
    if subscription_id is None or period is None:
        return
    starts = period.plan.validity_starts
    if event.status != ProfileStatus.FIRST_USE and not (
            starts == period.plan.ValidityStarts.INSTALL
            or not suppliers.reports_first_use(esim.upstream)):
        return
    start(subscription_id=subscription_id, at=at, actor_type="provider", actor=provider,
          reason=f"{provider} {event.status}" + (f" of {esim.iccid}" if member else ""))
