"""The home page's trends: paid orders and revenue per day (per hour for the last day) over
the window, in one grouped query, drawn on the server as small SVG sparklines (no script,
no chart library; the portal draws its charts the same way)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from esimdesk.catalog.margins import Rates
from esimdesk.core.money import Money
from esimdesk.figures.figures import Window
from esimdesk.orders.models import Order

WIDTH, HEIGHT, PAD = 160, 36, 3


@dataclass(frozen=True)
class Trend:
    orders: list[int]
    #: Revenue per bucket in minor units of the reporting currency (what converts).
    revenue: list[int]


def trend(window: Window, currency: str, rates: Rates) -> Trend:
    """Paid orders and revenue per bucket, oldest first: one query whatever the rows."""
    hourly = window.until - window.since <= dt.timedelta(days=1)
    step = dt.timedelta(hours=1) if hourly else dt.timedelta(days=1)
    trunc = TruncHour if hourly else TruncDay
    first = window.since.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if not hourly:
        first = first.replace(hour=0)
    buckets = int((window.until - first) / step) + 1
    orders, revenue = [0] * buckets, [0] * buckets
    rows = (Order.objects.filter(paid_at__gte=window.since, paid_at__lt=window.until)
            .annotate(bucket=trunc("paid_at", tzinfo=dt.UTC)).values("bucket", "currency")
            .annotate(n=Count("pk"), total=Sum("total")).order_by())
    for row in rows:
        index = int((row["bucket"] - first) / step)
        if not 0 <= index < buckets:
            continue
        orders[index] += row["n"]
        converted = rates.convert(Money(int(row["total"] or 0), row["currency"]), currency)
        if converted is not None:
            revenue[index] += converted.amount
    return Trend(orders, revenue)


def sparkline(values: list[int], label: str) -> SafeString:
    """A line over ``values`` scaled to the largest, with ``label`` for screen readers."""
    top = max(values, default=0) or 1
    count = max(len(values) - 1, 1)
    points = " ".join(
        f"{PAD + (WIDTH - 2 * PAD) * i / count:.1f},"
        f"{HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top:.1f}"
        for i, value in enumerate(values))
    # Numbers and an escaped label only.
    return mark_safe(
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(label)}" preserveAspectRatio="none">'
        f'<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="2" '
        f'vector-effect="non-scaling-stroke"/></svg>')
