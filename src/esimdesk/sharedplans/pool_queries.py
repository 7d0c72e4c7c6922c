"""Reads of pools shared by the portal, the API and the reports: what is left in the pool,
what each member drew, and the usage by cost centre. A fixed number of queries whatever
the number of members.

A pool waiting for its first member's first use (pending: no start, no end) is shown as
the pool: its full allowances, nothing drawn, ``activate_by`` the latest it starts."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from esimdesk.core import clock, csv_safe
from esimdesk.groups.models import Group, Invitation, Membership
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.sharedplans.pools import current_pool_period, pending_pool_period
from esimdesk.subscriptions.models import Allowance, Period, Subscription


@dataclass
class PoolKind:
    kind: str
    total: int
    used: int
    overage: int

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.used)

    @property
    def remaining_percent(self) -> int:
        return 0 if self.total == 0 else self.remaining * 100 // self.total


@dataclass
class MemberRow:
    membership: Membership
    used: dict[str, int] = field(default_factory=dict)
    overage: dict[str, int] = field(default_factory=dict)
    cap: int | None = None
    capped: bool = False

    @property
    def data_used(self) -> int:
        return self.used.get("data", 0)

    @property
    def cap_percent_used(self) -> int:
        if not self.cap:
            return 0
        return min(100, self.data_used * 100 // self.cap)


@dataclass
class Overview:
    group: Group
    subscription: Subscription | None
    period: Period | None
    queued: list[Period]
    pool: list[PoolKind]
    members: list[MemberRow]
    invitations: list[Invitation]

    @property
    def data(self) -> PoolKind | None:
        return next((k for k in self.pool if k.kind == "data"), None)

    @property
    def pending(self) -> bool:
        """The pool waits for its first member's first use (``period`` has no dates)."""
        return self.period is not None and self.period.state == Period.State.PENDING


def pools_of(period_ids: Iterable[int]) -> dict[int, list[PoolKind]]:
    """The pool of each period (keyed by period id), its buckets summed per kind (the plan's
    and the top-ups'): one query for any number of periods."""
    found: dict[int, dict[str, PoolKind]] = defaultdict(dict)
    for a in Allowance.objects.filter(period_id__in=list(period_ids)).order_by("id"):
        row = found[a.period_id].setdefault(a.kind, PoolKind(a.kind, 0, 0, 0))
        row.total += a.total
        row.used += a.used
        row.overage += a.overage
    order = {"data": 0, "voice": 1, "sms": 2}
    return {pk: sorted(kinds.values(), key=lambda k: order.get(k.kind, 9))
            for pk, kinds in found.items()}


def pool_of(period: Period | None) -> list[PoolKind]:
    if period is None:
        return []
    return pools_of([period.pk]).get(period.pk, [])


def add_tally(row: MemberRow, tally: MemberUsage) -> None:
    row.used[tally.kind] = tally.used
    row.overage[tally.kind] = tally.overage
    if tally.kind == "data" and tally.capped_at is not None:
        row.capped = True


def member_rows(group: Group, period: Period | None, *, include_left: bool = False,
                pool_data: int = 0) -> list[MemberRow]:
    members = Membership.objects.filter(group=group).select_related("user", "esim",
                                                                      "cost_centre")
    if not include_left:
        members = members.filter(left_at__isnull=True)
    rows = {m.pk: MemberRow(m, cap=m.cap_for(pool_data)) for m in members.order_by("joined_at",
                                                                                    "pk")}
    if period is not None:
        for tally in MemberUsage.objects.filter(period=period, membership_id__in=list(rows)):
            add_tally(rows[tally.membership_id], tally)
    return list(rows.values())


def overview(group: Group, *, instant: dt.datetime | None = None) -> Overview:
    at = instant or clock.now()
    subscription = Subscription.objects.filter(group=group).select_related("plan").first()
    period = current_pool_period(group.pk, at) or pending_pool_period(group.pk)
    # Later periods: with their dates, or waiting without them behind a pending pool.
    queued = (list(subscription.periods.filter(
                  Q(starts_at__gt=at) | Q(starts_at__isnull=True, state=Period.State.SCHEDULED))
                   .exclude(state=Period.State.CANCELLED).select_related("plan")
                   .order_by("sequence"))
              if subscription is not None else [])
    pool = pool_of(period)
    data = next((k.total for k in pool if k.kind == "data"), 0)
    invitations = list(Invitation.objects.filter(group=group, state=Invitation.State.PENDING,
                                                 expires_at__gt=at))
    return Overview(group, subscription, period, queued, pool,
                    member_rows(group, period, pool_data=data), invitations)


def usage_report(group: Group, period: Period) -> list[dict[str, Any]]:
    """One row per member who drew on the pool in ``period`` (members who left included)."""
    data = next((k.total for k in pool_of(period) if k.kind == "data"), 0)
    rows = []
    for row in member_rows(group, period, include_left=True, pool_data=data):
        m = row.membership
        if not row.used and not row.overage and m.left_at is not None:
            continue
        rows.append({"member": m.user.email or m.user.phone or str(m.user),
                     "name": m.user.name, "employee_ref": m.employee_ref,
                     "cost_centre": m.cost_centre.code if m.cost_centre else "",
                     "iccid": m.esim.iccid if m.esim else "",
                     "data_bytes": row.used.get("data", 0),
                     "voice_seconds": row.used.get("voice", 0),
                     "sms": row.used.get("sms", 0),
                     "overage_data_bytes": row.overage.get("data", 0),
                     "cap_bytes": "" if row.cap is None else row.cap,
                     "left_at": m.left_at.isoformat() if m.left_at else ""})
    return rows


def cost_centre_report(group: Group, period: Period) -> list[dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "members": 0, "data_bytes": 0, "voice_seconds": 0, "sms": 0, "overage_data_bytes": 0})
    for row in usage_report(group, period):
        entry = totals[row["cost_centre"]]
        entry["members"] += 1
        for key in ("data_bytes", "voice_seconds", "sms", "overage_data_bytes"):
            entry[key] += row[key]
    return [{"cost_centre": code, **values} for code, values in sorted(totals.items())]


def report_csv(group: Group, period: Period, *, by_cost_centre: bool = False) -> str:
    """The usage report of ``period`` as CSV text (per member, or per cost centre)."""
    rows = (cost_centre_report(group, period) if by_cost_centre
            else usage_report(group, period))
    buffer = io.StringIO()
    writer = csv_safe.dict_writer(buffer, list(rows[0]) if rows else ["member"])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
