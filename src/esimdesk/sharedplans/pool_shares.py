"""The pool share of each eSIM in an active membership, for the traveller's dashboard, eSIM
page and live figures (``portal.pool_cards``, filled in ``SharedPlansConfig.ready``).

The same figures as the group page (``pool_queries.overview``): the pool summed per kind by
``pools_of``, each member's draw tallied by ``add_tally`` and capped by
``Membership.cap_for`` on the pool's data. Five queries for any number of eSIMs and groups
(memberships, subscriptions, periods, allowances, tallies); none beyond the first when the
eSIMs are in no group.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Q

from esimdesk.esims.models import Esim
from esimdesk.groups.models import Membership
from esimdesk.portal.pool_cards import PoolShare
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.sharedplans.pool_queries import MemberRow, add_tally, pools_of
from esimdesk.subscriptions.models import Period, Subscription


def _shown(periods: list[Period], at: dt.datetime) -> tuple[Period | None, str]:
    """The period the pool is about now and the pool's state, as ``overview`` picks it:
    the running period, else the one waiting for the first member's first use, else the
    next queued."""
    running = next((p for p in periods if p.starts_at is not None and p.ends_at is not None
                    and p.starts_at <= at < p.ends_at), None)
    if running is not None:
        return running, "active"
    waiting = next((p for p in periods if p.state == Period.State.PENDING), None)
    if waiting is not None:
        return waiting, "pending"
    queued = next((p for p in periods if p.starts_at is None or p.starts_at > at), None)
    return queued, ("scheduled" if queued is not None else "expired")


def _covered_until(periods: list[Period], state: str, at: dt.datetime) -> dt.datetime | None:
    if state != "active":
        return None
    return max((p.ends_at for p in periods if p.ends_at is not None and p.ends_at > at),
               default=None)


def pool_shares(esims: Sequence[Esim], now: dt.datetime) -> dict[int, PoolShare]:
    members = list(Membership.active.filter(esim_id__in=[e.pk for e in esims])
                   .select_related("group"))
    if not members:
        return {}
    group_ids = {m.group_id for m in members}
    plans = {s.group_id: s.plan for s in
             Subscription.objects.filter(group_id__in=group_ids).select_related("plan")}
    periods: dict[int, list[Period]] = defaultdict(list)
    for period in (Period.objects.filter(subscription__group_id__in=group_ids)
                   .filter(Q(ends_at__gt=now) | Q(ends_at__isnull=True))
                   .exclude(state__in=[Period.State.CANCELLED, Period.State.ENDED])
                   .select_related("plan", "subscription").order_by("sequence")):
        group_id = period.subscription.group_id
        assert group_id is not None
        periods[group_id].append(period)
    shown = {g: _shown(periods[g], now) for g in group_ids}
    pools = pools_of(p.pk for p, _state in shown.values() if p is not None)
    rows = {m.pk: MemberRow(m) for m in members}
    period_of = {m.pk: shown[m.group_id][0] for m in members}
    live = [p.pk for p in period_of.values() if p is not None]
    for tally in MemberUsage.objects.filter(membership_id__in=list(rows), period_id__in=live):
        period = period_of[tally.membership_id]
        if period is not None and tally.period_id == period.pk:
            add_tally(rows[tally.membership_id], tally)
    result = {}
    for member in members:
        period, state = shown[member.group_id]
        pool = pools.get(period.pk, []) if period is not None else []
        data_total = next((k.total for k in pool if k.kind == "data"), 0)
        row = rows[member.pk]
        assert member.esim_id is not None
        result[member.esim_id] = PoolShare(
            group_id=member.group_id, group_name=member.group.name,
            group_kind=member.group.kind, manager=member.is_manager,
            plan=period.plan if period is not None else plans.get(member.group_id),
            state=state, covered_until=_covered_until(periods[member.group_id], state, now),
            period_id=period.pk if period is not None else None,
            activate_by=period.activate_by if period is not None else None,
            allowances=tuple(pool),
            cap=member.cap_for(data_total) if period is not None else None,
            member_used=row.data_used, capped=row.capped)
    return result
