"""Shared pools: a group's subscription periods and their allowances are the pool; each
member's draw on it is tallied in ``groups.MemberUsage``.

``charge_pool`` is the one function that charges usage to pools. It takes a batch of
``PoolCharge(esim_id, kind, quantity, occurred_at)``, and answers one ``PoolOutcome`` per
charge, in the same order. How ``usage`` uses it (``usage/services.py`` and the PostgreSQL
path ``usage/ingest_pg.py``), inside the ingestion transaction, after deduplication and
before storing the events:

1. ``pooled = pooled_esims(esim_ids)`` says which eSIMs of the batch belong to a pool;
2. the records of those eSIMs go to ``charge_pool`` (in batch order); each outcome with
   ``period_id`` is stored as the ``UsageEvent`` (``period`` = the pool's period,
   ``charged``/``overage`` from the outcome); an outcome with ``code = "no_pool"`` (the
   record falls outside the membership, e.g. before joining or after leaving) is charged to
   the eSIM's own subscription as today, and ``no_period`` is rejected as today;
3. nothing else: the depletion of pools and members, and the pool's reminders, are
   recorded here in the same transaction.

Rules, the same as personal allowances (``allowance_policy.charge``): a record is charged
to the pool period active at ``occurred_at`` (half-open windows) while
``now < ends_at + grace``; the kind's buckets fill in order (the plan's, then top-ups by id)
and what they cannot cover is overage, never a negative balance. On top: a member with a
data cap is charged at most up to it (the policy's ``room``); beyond it the record is
overage too (the member is throttled or stopped, the others continue). The overage goes on
the pool's last bucket and on the member's tally, so for every period and kind the members'
``used`` and ``overage`` add up exactly to the pool's. (A kind the pool has no allowance for
at all is overage on the member's tally and the event only, as it is on the event for a
personal eSIM.) ``charged + overage`` is the quantity, except for a call between members,
which counts for less when the plan says so (``intra_group``).

Concurrency: the pool's allowances are locked first (``SELECT … FOR UPDATE`` in id order,
as the personal path does), then the members' tallies (inserted if missing, then locked in
id order). Every batch charging a pool takes the pool's locks before anything else, so
concurrent batches queue up per pool and never deadlock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from esimdesk.core import audit, clock
from esimdesk.groups.models import Membership
from esimdesk.sharedplans import pool_reminders
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.sharedplans.pool_tasks import (
    member_depletion_task,
    member_lift_task,
    pool_depletion_task,
)
from esimdesk.subscriptions import allowance_policy as policy
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog, Subscription

DEFAULT_GRACE = dt.timedelta(hours=48)


@dataclass(frozen=True)
class PoolCharge:
    esim_id: int
    kind: str
    quantity: int
    occurred_at: dt.datetime
    #: a call to another member of the same group: charged less if the plan's group terms
    #: say so (``GroupPlanTerms.intra_group_voice_percent_off``)
    intra_group: bool = False


@dataclass(frozen=True)
class PoolOutcome:
    #: the pool period charged; None when the charge was not taken (see ``code``)
    period_id: int | None
    membership_id: int | None = None
    charged: int = 0
    overage: int = 0
    #: "" when charged; ``no_pool`` (no membership at that instant) or ``no_period``
    code: str = ""


def pooled_esims(esim_ids: Iterable[int]) -> set[int]:
    """The eSIMs among ``esim_ids`` that belong to a pool now or belonged to one (so a
    late record from before leaving is still charged to the pool)."""
    return set(Membership.objects.filter(esim_id__in=list(esim_ids))
               .values_list("esim_id", flat=True))


def charge_pool(*, charges: Sequence[PoolCharge], now: dt.datetime | None = None,
                grace: dt.timedelta = DEFAULT_GRACE) -> list[PoolOutcome]:
    """Charge a batch to the pools of the members' groups (see the module docstring). Owns
    a transaction (a savepoint inside the caller's)."""
    instant = now or clock.now()
    with transaction.atomic():
        memberships = _memberships(charges)
        periods = _periods({m.group_id for ms in memberships.values() for m in ms}, instant,
                           grace)
        resolved: list[tuple[Membership, Period] | str] = []
        for charge in charges:
            member = next((m for m in memberships.get(charge.esim_id, ())
                           if m.joined_at <= charge.occurred_at
                           and (m.left_at is None or charge.occurred_at < m.left_at)), None)
            if member is None:
                resolved.append("no_pool")
                continue
            period = next((p for p in periods.get(member.group_id, ())
                           if p.starts_at <= charge.occurred_at < p.ends_at), None)
            resolved.append((member, period) if period is not None else "no_period")
        touched = sorted({r[1].pk for r in resolved if not isinstance(r, str)})
        if not touched:
            return [PoolOutcome(None, code=str(r)) for r in resolved]
        buckets = _lock_buckets(touched)
        tallies = _lock_tallies({(r[0].pk, r[1].pk, c.kind) for r, c in zip(resolved, charges,
                                                                           strict=True)
                                 if not isinstance(r, str)})
        pool_data = {pid: sum(a.total for a in buckets.get((pid, "data"), ()))
                     for pid in touched}
        outcomes = []
        changed: dict[int, Allowance] = {}
        for charge, target in zip(charges, resolved, strict=True):
            if isinstance(target, str):
                outcomes.append(PoolOutcome(None, code=target))
                continue
            member, period = target
            tally = tallies[(member.pk, period.pk, charge.kind)]
            quantity = _billable(charge, period)
            room = None
            if charge.kind == "data":
                cap = member.cap_for(pool_data[period.pk])
                if cap is not None:
                    room = cap - tally.used
            outcome = policy.charge(
                buckets.get((period.pk, charge.kind), []), quantity, room=room,
                policy=policy.policy_for(depletion=period.plan.depletion, kind=charge.kind))
            for allowance in outcome.changed:
                changed[allowance.pk] = allowance
            tally.used += outcome.charged
            tally.overage += outcome.overage
            outcomes.append(PoolOutcome(period.pk, member.pk, outcome.charged,
                                        outcome.overage))
        Allowance.objects.bulk_update(list(changed.values()), ["used", "overage"])
        MemberUsage.objects.bulk_update(list(tallies.values()), ["used", "overage"])
        _after_charging(touched, buckets, tallies, instant)
    return outcomes


def _billable(charge: PoolCharge, period: Period) -> int:
    """The quantity to charge: a call between members counts for less when the plan says so
    (rounded up to the whole second, integer arithmetic)."""
    if charge.kind != "voice" or not charge.intra_group:
        return charge.quantity
    terms = getattr(period.plan, "group_terms", None)
    percent = terms.intra_group_voice_percent_off if terms is not None else 0
    return -(-charge.quantity * (100 - percent) // 100)


def _memberships(charges: Sequence[PoolCharge]) -> dict[int, list[Membership]]:
    found: dict[int, list[Membership]] = defaultdict(list)
    for member in Membership.objects.filter(esim_id__in={c.esim_id for c in charges}):
        assert member.esim_id is not None
        found[member.esim_id].append(member)
    return found


def _periods(group_ids: set[int], instant: dt.datetime,
             grace: dt.timedelta) -> dict[int, list[Period]]:
    found: dict[int, list[Period]] = defaultdict(list)
    for period in (Period.objects.filter(subscription__group_id__in=group_ids,
                                         ends_at__gt=instant - grace)
                   .exclude(state=Period.State.CANCELLED)
                   .select_related("subscription", "plan__group_terms")):
        group_id = period.subscription.group_id
        assert group_id is not None
        found[group_id].append(period)
    return found


def _lock_buckets(period_ids: list[int]) -> dict[tuple[int, str], list[Allowance]]:
    buckets: dict[tuple[int, str], list[Allowance]] = defaultdict(list)
    for allowance in (Allowance.objects.select_for_update()
                      .filter(period_id__in=period_ids).order_by("pk")):
        buckets[(allowance.period_id, allowance.kind)].append(allowance)
    return {key: policy.sort_buckets(group) for key, group in buckets.items()}


def _lock_tallies(keys: set[tuple[int, int, str]]) -> dict[tuple[int, int, str], MemberUsage]:
    MemberUsage.objects.bulk_create(
        [MemberUsage(membership_id=m, period_id=p, kind=k) for m, p, k in sorted(keys)],
        ignore_conflicts=True)
    wanted = Q()
    for membership_id, period_id, kind in keys:
        wanted |= Q(membership_id=membership_id, period_id=period_id, kind=kind)
    return {(t.membership_id, t.period_id, t.kind): t
            for t in MemberUsage.objects.select_for_update().filter(wanted).order_by("pk")}


# -- caps and depletion ------------------------------------------------------------------------


def _after_charging(period_ids: list[int], buckets: dict[tuple[int, str], list[Allowance]],
                    tallies: dict[tuple[int, int, str], MemberUsage],
                    instant: dt.datetime) -> None:
    """Record, once each, a pool whose data ran out and members who reached their cap, and
    queue what applies it upstream; then the pool's reminders."""
    for period_id in period_ids:
        data = buckets.get((period_id, "data"), [])
        total = sum(a.total for a in data)
        if total and sum(a.used for a in data) >= total:
            _, created = ReminderLog.objects.get_or_create(
                period_id=period_id, kind="depleted",
                defaults={"created_at": instant, "sent_at": instant})
            if created:
                pool_depletion_task.enqueue(period_id)
    data_tallies = [t for t in tallies.values() if t.kind == "data"]
    _cap_members(data_tallies, {pid: sum(a.total for a in buckets.get((pid, "data"), ()))
                                for pid in period_ids}, instant)
    pool_reminders.after_pool_charging(period_ids=period_ids, tallies=data_tallies,
                                       now=instant)


def _cap_members(tallies: list[MemberUsage], pool_totals: dict[int, int],
                 instant: dt.datetime) -> None:
    members = Membership.objects.in_bulk({t.membership_id for t in tallies})
    for tally in tallies:
        member = members[tally.membership_id]
        cap = member.cap_for(pool_totals.get(tally.period_id, 0))
        if tally.capped_at is None and cap is not None and \
                tally.used >= cap:
            tally.capped_at = instant
            tally.save(update_fields=["capped_at"])
            audit.record(action="group.member_capped", obj=member, actor_type="task",
                         actor="usage", after={"period": tally.period_id, "used": tally.used,
                                               "cap": cap})
            member_depletion_task.enqueue(tally.period_id, tally.membership_id, "cap")


def enforce_caps(*, group_id: int, membership_ids: list[int]) -> None:
    """After a cap changed: members of the current pool period already at or over their new
    cap are stopped now (the same record and task as when usage reaches it); members held at
    a cap that no longer holds them get full service back (unless the pool is used up)."""
    instant = clock.now()
    period = current_pool_period(group_id, instant)
    if period is None:
        return
    keys = {(m, period.pk, "data") for m in membership_ids}
    buckets = _lock_buckets([period.pk])
    tallies = _lock_tallies(keys)
    data = buckets.get((period.pk, "data"), ())
    total = sum(a.total for a in data)
    _cap_members(list(tallies.values()), {period.pk: total}, instant)
    if sum(a.used for a in data) < total:  # an exhausted pool stays held for everyone
        _uncap_members(list(tallies.values()), total)


def _uncap_members(tallies: list[MemberUsage], pool_total: int) -> None:
    """Members held at a cap that was raised or removed: full service again, upstream too."""
    members = Membership.objects.in_bulk({t.membership_id for t in tallies})
    for tally in tallies:
        member = members[tally.membership_id]
        cap = member.cap_for(pool_total)
        if tally.capped_at is None or (cap is not None and tally.used >= cap):
            continue
        tally.capped_at = None
        tally.save(update_fields=["capped_at"])
        audit.record(action="group.member_uncapped", obj=member, actor_type="task",
                     actor="groups", after={"period": tally.period_id, "used": tally.used,
                                            "cap": cap})
        member_lift_task.enqueue(tally.period_id, tally.membership_id,
                                 f"esimdesk-uncap-{tally.period_id}-m{member.pk}-"
                                 f"{uuid.uuid4().hex[:12]}")


def current_pool_period(group_id: int, instant: dt.datetime | None = None) -> Period | None:
    at = instant or clock.now()
    return (Period.objects.filter(subscription__group_id=group_id, starts_at__lte=at,
                                  ends_at__gt=at).exclude(state=Period.State.CANCELLED)
            .select_related("plan").first())


def pending_pool_period(group_id: int) -> Period | None:
    """The group's pool period waiting for its first member's first use, if any."""
    return (Period.objects.filter(subscription__group_id=group_id, state=Period.State.PENDING)
            .select_related("plan").order_by("sequence").first())


def pool_subscription(group_id: int) -> Subscription | None:
    return Subscription.objects.filter(group_id=group_id).select_related("plan").first()


def pool_data_total(group_id: int) -> int | None:
    """The data of the group's running pool period, else of the one waiting for first use
    (top-ups included), in bytes; None when the group has no plan."""
    period = current_pool_period(group_id) or pending_pool_period(group_id)
    if period is None:
        return None
    return sum(Allowance.objects.filter(period=period, kind="data")
               .values_list("total", flat=True))
