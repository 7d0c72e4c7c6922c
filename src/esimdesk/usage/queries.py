"""Reads of usage for charts, the live refresh and the depletion forecast.

Each function runs a fixed number of queries however many events or eSIMs there are, so the
portal's query count does not grow with usage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum
from django.db.models.functions import TruncDay, TruncHour

from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.queries import EsimService
from esimdesk.usage.forecast import WINDOW, Forecast, forecast
from esimdesk.usage.models import UsageEvent

GRANULARITIES = {"hour": (dt.timedelta(hours=1), 48), "day": (dt.timedelta(days=1), 30)}


@dataclass(frozen=True)
class Point:
    start: dt.datetime  # aware UTC start of the bucket
    quantity: int


def _floor(instant: dt.datetime, granularity: str) -> dt.datetime:
    instant = instant.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return instant.replace(hour=0) if granularity == "day" else instant


def usage_series(esim: Esim, kind: str = "data", granularity: str = "hour", *,
                 now: dt.datetime | None = None, period_id: int | None = None) -> list[Point]:
    """The last 48 hours by hour or the last 30 days by day, oldest first, every bucket
    present (zero when nothing was used). Buckets are UTC hours / UTC days, summed in SQL
    in one query; callers show the labels in the user's time zone. ``period_id``: only
    what was charged to that period (so the chart adds up to the balance shown beside it)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}")
    step, count = GRANULARITIES[granularity]
    instant = now or clock.now()
    last = _floor(instant, granularity)
    first = last - step * (count - 1)
    trunc = TruncDay if granularity == "day" else TruncHour
    events = UsageEvent.objects.filter(esim=esim, kind=kind, occurred_at__gte=first,
                                       occurred_at__lte=instant)
    if period_id is not None:
        events = events.filter(period_id=period_id)
    rows = (events
            .annotate(bucket=trunc("occurred_at", tzinfo=dt.UTC))
            .values("bucket").annotate(total=Sum("quantity")).order_by())
    totals = {row["bucket"].astimezone(dt.UTC): int(row["total"] or 0) for row in rows}
    return [Point(first + step * i, totals.get(first + step * i, 0)) for i in range(count)]


def forecasts_for(services: dict[int, EsimService], *, kind: str = "data",
                  now: dt.datetime | None = None) -> dict[int, Forecast | None]:
    """Depletion forecast of each eSIM's running period (keyed by eSIM id), from its use in
    the last 24 hours (or since the period started, if later); one query for all."""
    instant = now or clock.now()
    current = {esim_id: s.current for esim_id, s in services.items() if s.current}
    used: dict[int, int] = {}
    if current:
        # By eSIM and time, the index usage events have; the period check only keeps out a
        # previous period's last hours.
        rows = (UsageEvent.objects
                .filter(esim_id__in=list(current), kind=kind,
                        occurred_at__gt=instant - WINDOW, occurred_at__lte=instant,
                        period_id__in=[p.id for p in current.values()])
                .values("esim_id").annotate(total=Sum("quantity")).order_by())
        used = {row["esim_id"]: int(row["total"] or 0) for row in rows}
    result: dict[int, Forecast | None] = {}
    for esim_id in services:
        period = current.get(esim_id)
        allowance = next((a for a in period.allowances if a.kind == kind), None) if period \
            else None
        if period is None or allowance is None:
            result[esim_id] = None
            continue
        since = max(instant - WINDOW, period.starts_at)
        result[esim_id] = forecast(remaining=allowance.remaining,
                                   used_recently=used.get(esim_id, 0), window=instant - since,
                                   now=instant, period_ends_at=period.ends_at)
    return result


def remaining_of(service: EsimService, kind: str = "data") -> int | None:
    if service.current is None:
        return None
    return next((a.remaining for a in service.current.allowances if a.kind == kind), None)


