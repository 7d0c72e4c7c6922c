"""Reads of validity and balances shared by the API and the portal.

Everything is fetched for a whole list of eSIMs in a fixed number of queries, so a page's
query count does not grow with the number of eSIMs or periods.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Prefetch

from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Allowance, Period, Subscription


@dataclass
class AllowanceView:
    kind: str
    total: int
    used: int
    unit: str

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.used)

    @property
    def used_percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.used * 100 // self.total)

    @property
    def remaining_percent(self) -> int:
        return 100 - self.used_percent


@dataclass
class PeriodView:
    id: int
    sequence: int
    plan: Plan
    starts_at: dt.datetime
    ends_at: dt.datetime
    state: str
    allowances: list[AllowanceView] = field(default_factory=list)

    def seconds_left(self, now: dt.datetime) -> int:
        return max(0, int((self.ends_at - now).total_seconds()))


@dataclass
class EsimService:
    """What an eSIM can do right now: current period, queued ones, and the overall state."""

    subscription: Subscription | None
    current: PeriodView | None
    queued: list[PeriodView]
    last_ended: PeriodView | None

    @property
    def state(self) -> str:
        if self.current is not None:
            return "active"
        if self.queued:
            return "scheduled"
        return "expired" if self.last_ended is not None else "none"

    @property
    def valid_until(self) -> dt.datetime | None:
        views = ([self.current] if self.current else []) + self.queued
        return max((v.ends_at for v in views), default=None)


def _view(period: Period) -> PeriodView:
    totals: dict[str, AllowanceView] = {}
    for allowance in period.allowances.all():
        view = totals.get(allowance.kind)
        if view is None:
            totals[allowance.kind] = AllowanceView(allowance.kind, allowance.total,
                                                   allowance.used, allowance.unit)
        else:  # a top-up adds a bucket of the same kind: show the sum
            view.total += allowance.total
            view.used += allowance.used
    order = {"data": 0, "voice": 1, "sms": 2}
    return PeriodView(period.pk, period.sequence, period.plan, period.starts_at, period.ends_at,
                      period.state, sorted(totals.values(), key=lambda a: order[a.kind]))


def preview_window(plan: Plan, esim: Esim | None, *,
                   now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """When a period of ``plan`` bought now would run: a new eSIM starts now; a renewal
    starts when the eSIM's latest period ends, or now if that has passed. The same rule
    ``subscriptions.services.add_period`` applies when the order is fulfilled."""
    instant = now or clock.now()
    latest = None
    if esim is not None:
        latest = (Period.objects.filter(subscription__esim=esim)
                  .exclude(state=Period.State.CANCELLED).order_by("-ends_at")
                  .values_list("ends_at", flat=True).first())
    starts_at = next_start(latest, instant)
    return starts_at, plan.ends_at(starts_at)


def next_start(latest_end: dt.datetime | None, instant: dt.datetime) -> dt.datetime:
    """A new period starts when the latest one ends, or now if that end has passed."""
    return max(instant, latest_end) if latest_end else instant


def service_for(esims: Iterable[Esim], *, now: dt.datetime | None = None) -> dict[int, EsimService]:
    """Validity and balances of each eSIM (keyed by eSIM id) in three queries."""
    instant = now or clock.now()
    esim_ids = [e.pk for e in esims]
    periods = (Period.objects.filter(subscription__esim_id__in=esim_ids)
               .exclude(state=Period.State.CANCELLED)
               .select_related("plan", "subscription")
               .prefetch_related(Prefetch("allowances", queryset=Allowance.objects.all()))
               .order_by("starts_at"))
    by_esim: dict[int, list[Period]] = defaultdict(list)
    subscriptions: dict[int, Subscription] = {}
    for period in periods:
        esim_id = period.subscription.esim_id
        assert esim_id is not None
        by_esim[esim_id].append(period)
        subscriptions[esim_id] = period.subscription
    result: dict[int, EsimService] = {}
    for esim_id in esim_ids:
        current = None
        queued: list[PeriodView] = []
        last_ended = None
        for period in by_esim.get(esim_id, []):
            if period.ends_at <= instant:
                last_ended = _view(period)
            elif period.starts_at <= instant:
                current = _view(period)
            else:
                queued.append(_view(period))
        result[esim_id] = EsimService(subscriptions.get(esim_id), current, queued, last_ended)
    return result
