"""Changes to a running subscription: top-ups and plan changes that start now.

Both keep the subscription back to back: a period whose end moves (an extending top-up) or
a new period inserted now (a plan change) pushes the queued periods after it, each keeping
its plan's full validity from its new start. Sequence numbers stay in time order, because
other code (renewal, expiry) reads "the period after this one" by sequence.

Rules (docs/topups.md, docs/plan-change.md):
- a top-up is a separate allowance bucket (``source=top_up``) of the period running when it
  is applied; it expires with that period unless the product extends the period;
- a plan change now ends the running period now (or cancels it if it started this very
  instant), starts the new plan now and moves the queued periods after it; the unused part
  of the running period's top-up buckets moves to the new period as new top-up buckets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max, Sum

from esimdesk.catalog.models import Plan
from esimdesk.core import audit, clock
from esimdesk.subscriptions.models import Allowance, Period, Subscription
from esimdesk.subscriptions.services import end_locked_period_now

_OVER = (Period.State.CANCELLED, Period.State.ENDED)


def running_period(subscription: Subscription | int, *,
                   at: dt.datetime | None = None) -> Period | None:
    """The period whose window contains ``at`` (now), by time, whatever the sweep has
    written into its state yet (a queued period whose start has passed is running)."""
    instant = at or clock.now()
    sub_id = subscription if isinstance(subscription, int) else subscription.pk
    return (Period.objects.select_related("plan")
            .filter(subscription_id=sub_id, starts_at__lte=instant, ends_at__gt=instant)
            .exclude(state__in=_OVER).order_by("sequence").first())


def topped_up_period(subscription: Subscription | int, *,
                     at: dt.datetime | None = None) -> Period | None:
    """The period a top-up goes on: the one running, else the one waiting for first use
    (the top-up waits with it)."""
    running = running_period(subscription, at=at)
    if running is not None:
        return running
    sub_id = subscription if isinstance(subscription, int) else subscription.pk
    return (Period.objects.select_related("plan")
            .filter(subscription_id=sub_id, state=Period.State.PENDING)
            .order_by("sequence").first())


def plan_data_usage(period: Period) -> tuple[int, int]:
    """(total, used) of the period's own data allowance, top-up buckets left out."""
    sums = (Allowance.objects.filter(period=period, kind=Allowance.Kind.DATA,
                                     source=Allowance.Source.PLAN)
            .aggregate(total=Sum("total"), used=Sum("used")))
    return int(sums["total"] or 0), int(sums["used"] or 0)


def add_top_up(*, subscription: Subscription, quantities: list[tuple[str, int]],
               extend_days: int = 0, actor: str = "fulfilment",
               reason: str = "") -> tuple[Period, list[Allowance]] | None:
    """Add top-up buckets to the period running now, or to the one waiting for first use;
    ``None`` when there is neither.

    The buckets belong to that period and expire with it. ``extend_days`` moves the
    period's end (and every queued period after it) that many days later; on a period that
    has not started it lengthens it by that much once it starts.
    """
    with transaction.atomic():
        locked_sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
        instant = clock.now()
        found = topped_up_period(locked_sub, at=instant)
        if found is None:
            return None
        period = Period.objects.select_for_update().get(pk=found.pk)
        buckets = [Allowance.objects.create(period=period, kind=kind, total=total,
                                            source=Allowance.Source.TOP_UP)
                   for kind, total in quantities if total > 0]
        audit.record(action="period.top_up", obj=period, actor_type="task", actor=actor,
                     after={"buckets": [[b.kind, b.total] for b in buckets],
                            "extend_days": extend_days}, reason=reason)
        if extend_days and period.ends_at is None:
            period.extra_days += extend_days
            period.save(update_fields=["extra_days"])
            audit.record(action="period.extended", obj=period, actor_type="task", actor=actor,
                         after={"extra_days": period.extra_days}, reason=reason)
        elif extend_days:
            before = period.ends_at
            period.ends_at = before + dt.timedelta(days=extend_days)
            period.save(update_fields=["ends_at"])
            audit.record(action="period.extended", obj=period, actor_type="task", actor=actor,
                         before={"ends_at": before.isoformat()},
                         after={"ends_at": period.ends_at.isoformat()}, reason=reason)
            push_queued(locked_sub, after=period, instant=instant, actor=actor,
                         reason="the period before it was extended by a top-up")
        return period, buckets


@dataclass
class PlanSwitch:
    """What ``start_plan_now`` did."""

    period: Period
    replaced_running: bool
    #: old top-up bucket id -> the bucket that carries its unused part in the new period
    carried: dict[int, Allowance] = field(default_factory=dict)


def start_plan_now(*, subscription: Subscription, plan: Plan, replaced: Period,
                   actor: str = "fulfilment", reason: str = "") -> PlanSwitch:
    """Start a period of ``plan`` now in place of ``replaced``.

    If ``replaced`` still runs it ends now (is cancelled if it started this instant) and its
    unused top-up quantities move to the new period. Should another period run now instead
    (``replaced`` ended before the change could be applied), the new one is queued right
    after it. Queued periods follow the new one back to back.
    """
    with transaction.atomic():
        locked_sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
        periods = list(locked_sub.periods.select_for_update().order_by("sequence"))
        instant = clock.now()
        old = next(p for p in periods if p.pk == replaced.pk)
        was_running = old.state not in _OVER and old.starts_at <= instant < old.ends_at
        if was_running:
            end_locked_period_now(period=old, instant=instant, actor=actor,
                                  reason=reason or "plan changed")
        live = [p for p in periods if p.state not in _OVER and p.pk != old.pk]
        running_other = next((p for p in live if p.starts_at <= instant < p.ends_at), None)
        starts_at = running_other.ends_at if running_other else instant
        later = [p for p in live if p.starts_at > instant and p is not running_other]
        if later:
            sequence = later[0].sequence
            for moved in sorted((p for p in periods if p.sequence >= sequence),
                                key=lambda p: -p.sequence):
                moved.sequence += 1
                moved.save(update_fields=["sequence"])
        else:
            sequence = (locked_sub.periods.aggregate(seq=Max("sequence"))["seq"] or 0) + 1
        new = Period.objects.create(
            subscription=locked_sub, sequence=sequence, plan=plan, starts_at=starts_at,
            ends_at=plan.ends_at(starts_at),
            state=Period.State.ACTIVE if starts_at <= instant else Period.State.SCHEDULED)
        Allowance.objects.bulk_create([Allowance(period=new, kind=kind, total=total)
                                       for kind, total in plan.allowances()])
        switch = PlanSwitch(period=new, replaced_running=was_running)
        if was_running:
            switch.carried = _carry_top_ups(old, new)
        audit.record(action="period.create", obj=new, actor_type="task", actor=actor,
                     after={"subscription": locked_sub.pk, "sequence": new.sequence,
                            "plan": plan.code, "starts_at": starts_at.isoformat(),
                            "ends_at": new.ends_at.isoformat(), "state": new.state,
                            "replaces": old.pk,
                            "carried": [[b.kind, b.total] for b in switch.carried.values()]},
                     reason=reason)
        push_queued(locked_sub, after=new, instant=instant, actor=actor,
                     reason="a plan change started before it")
        last = max([new, *later], key=lambda p: p.starts_at)
        if locked_sub.plan_id != last.plan_id:
            locked_sub.plan_id = last.plan_id
            locked_sub.save(update_fields=["plan"])
        return switch


def _carry_top_ups(old: Period, new: Period) -> dict[int, Allowance]:
    """Move the unused part of each top-up bucket of ``old`` to a new bucket of ``new``
    (never merged into another bucket); the old bucket keeps only what was used."""
    carried: dict[int, Allowance] = {}
    for bucket in (Allowance.objects.select_for_update()
                   .filter(period=old, source=Allowance.Source.TOP_UP).order_by("id")):
        left = bucket.total - bucket.used
        if left <= 0:
            continue
        carried[bucket.pk] = Allowance.objects.create(period=new, kind=bucket.kind,
                                                      source=Allowance.Source.TOP_UP,
                                                      total=left)
        bucket.total = bucket.used
        bucket.save(update_fields=["total"])
    return carried


def push_queued(subscription: Subscription, *, after: Period, instant: dt.datetime,
                 actor: str, reason: str) -> None:
    """Queued periods after ``after`` start back to back from its end, each with its plan's
    full validity."""
    cursor = after.ends_at
    for later in (subscription.periods.select_for_update().select_related("plan")
                  .filter(sequence__gt=after.sequence, state=Period.State.SCHEDULED)
                  .order_by("sequence")):
        if later.starts_at != cursor:
            before = {"starts_at": later.starts_at.isoformat(),
                      "ends_at": later.ends_at.isoformat()}
            later.starts_at = cursor
            later.ends_at = later.plan.ends_at(cursor)
            if cursor <= instant:
                later.state = Period.State.ACTIVE
            later.save(update_fields=["starts_at", "ends_at", "state"])
            audit.record(action="period.moved", obj=later, actor_type="task", actor=actor,
                         before=before, after={"starts_at": later.starts_at.isoformat(),
                                               "ends_at": later.ends_at.isoformat()},
                         reason=reason)
        cursor = later.ends_at
