"""Usage bar chart drawn on the server as inline SVG: no JavaScript, no chart library.

The view box is phone-sized (360 wide) and the SVG scales to its container (the page caps
its width), with a few large labels, so text stays legible on a phone without scrolling.
Labels are in the active language and time zone; every bar carries a ``<title>`` so screen
readers and hover both get the exact value.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from esimdesk.core import formats
from esimdesk.core.units import format_quantity, kind_label
from esimdesk.usage.queries import Point

WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 58, 8, 14, 44  # room for the y labels and the x labels
FONT = 13  # view-box units: about 12 px on a phone
LABELS = 4  # x labels along the axis (the first bar of every quarter)
_ids = itertools.count(1)


def _label(start: dt.datetime, granularity: str) -> str:
    return formats.time(start) if granularity == "hour" else formats.day_month(start)


def _bar_title(start: dt.datetime, granularity: str, kind: str, quantity: int) -> str:
    when = formats.datetime(start) if granularity == "hour" else formats.date(start)
    return f"{when}: {format_quantity(kind, quantity)}"


def bar_chart(points: Sequence[Point], *, kind: str = "data",
              granularity: str = "hour") -> SafeString:
    """An accessible SVG bar chart of ``points`` (oldest first)."""
    uid = f"usage-chart-{next(_ids)}"
    total = sum(p.quantity for p in points)
    top = max((p.quantity for p in points), default=0)
    if granularity == "hour":
        title = _("%(kind)s used in the last 48 hours") % {"kind": kind_label(kind)}
    else:
        title = _("%(kind)s used in the last 30 days") % {"kind": kind_label(kind)}
    every = max(1, -(-len(points) // LABELS))
    desc = _("Total: %(total)s. Busiest: %(top)s.") % {
        "total": format_quantity(kind, total), "top": format_quantity(kind, top)}
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(points))
    bar_w = max(1.0, slot * 0.75)
    base = TOP + plot_h
    parts = [
        f'<svg class="usage-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{uid}-t {uid}-d" '
        f'preserveAspectRatio="xMidYMid meet" width="100%">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
        # axes: y from 0 to the busiest bucket, x along the bottom
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#999"/>',
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" '
        f'stroke="#999"/>',
        f'<text x="{LEFT - 6}" y="{base}" text-anchor="end" font-size="{FONT}" '
        f'dominant-baseline="middle">0</text>',
    ]
    if top:
        parts.append(f'<text x="{LEFT - 6}" y="{TOP}" text-anchor="end" font-size="{FONT}" '
                     f'dominant-baseline="middle">{escape(format_quantity(kind, top))}</text>')
    for i, point in enumerate(points):
        x = LEFT + i * slot + (slot - bar_w) / 2
        h = 0.0 if not top else plot_h * point.quantity / top
        if point.quantity and h < 1:
            h = 1.0  # a little use stays visible
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="#2a7de1"><title>'
            f'{escape(_bar_title(point.start, granularity, kind, point.quantity))}'
            f'</title></rect>')
        if i % every == 0:
            # the first label starts at its bar so it is not cut off at the edge
            anchor, lx = ("start", x) if i == 0 else ("middle", x + bar_w / 2)
            parts.append(f'<text x="{lx:.1f}" y="{base + FONT + 4}" text-anchor="{anchor}" '
                         f'font-size="{FONT}">{escape(_label(point.start, granularity))}</text>')
    axis = _("Time (%(zone)s)") % {"zone": formats.zone_label()}
    parts.append(f'<text class="axis-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 4}" '
                 f'text-anchor="middle" font-size="{FONT}">{escape(axis)}</text>')
    parts.append("</svg>")
    # every piece of text above went through escape()
    return mark_safe("".join(parts))
