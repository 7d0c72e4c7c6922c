"""Usage on the traveller's pages: chart, depletion forecast, and the live JSON the page's
small script polls (the same numbers the page shows, so the page works without it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from esimdesk.core import clock, formats
from esimdesk.core.errors import NotFound
from esimdesk.core.units import UNITS, format_quantity
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.portal.esim_cards import pool_gauge
from esimdesk.portal.pool_cards import PoolShare, pool_shares
from esimdesk.subscriptions.queries import EsimService, service_for
from esimdesk.usage.charts import bar_chart
from esimdesk.usage.forecast import Forecast
from esimdesk.usage.queries import forecasts_for, usage_series

RANGES = {"48h": "hour", "30d": "day"}


def forecast_text(forecast: Forecast | None) -> str:
    """The forecast as one translated sentence in the user's time zone ("" when none)."""
    if forecast is None:
        return ""
    when = formats.datetime(forecast.until)
    if forecast.plan_end:
        return _("At your recent rate, your data lasts until the plan ends (%(when)s).") % {
            "when": when}
    if forecast.until <= clock.now():
        return _("Your data has run out.")
    return _("At your recent rate, your data lasts until %(when)s.") % {"when": when}


def usage_panel(request: HttpRequest, esim: Esim, service: EsimService,
                pool: PoolShare | None = None) -> dict[str, Any]:
    """Template context of the eSIM page's usage section: the chosen range (a plain link,
    ``?range=48h|30d``), its chart and the forecast. A pooled eSIM's chart counts what it
    drew from the pool's period, beside what it drew of the pool (no forecast: the pool
    runs down with everyone's use)."""
    chosen = request.GET.get("range", "48h")
    if chosen not in RANGES:
        chosen = "48h"
    now = clock.now()
    # The chart and the balance beside it count the same period, in the same words: the
    # running period's data allowance (top-ups included) and the usage charged to it.
    if pool is not None:
        return _pool_usage_panel(esim, pool, chosen, now)
    current = service.current
    data = (next((a for a in current.allowances if a.kind == "data"), None)
            if current is not None else None)
    points = usage_series(esim, "data", RANGES[chosen], now=now,
                          period_id=current.id if current is not None else None)
    forecast = forecasts_for({esim.pk: service}, now=now)[esim.pk]
    nothing = not any(p.quantity for p in points) and (data is None or data.used == 0)
    return {"usage_range": chosen,
            "usage_chart": "" if nothing else bar_chart(points, kind="data",
                                                        granularity=RANGES[chosen]),
            "usage_empty": nothing,
            "usage_used_text": format_quantity("data", data.used) if data else "",
            "usage_total_text": format_quantity("data", data.total) if data else "",
            "forecast": forecast, "forecast_text": forecast_text(forecast)}


def _pool_usage_panel(esim: Esim, pool: PoolShare, chosen: str,
                      now: dt.datetime) -> dict[str, Any]:
    data = pool.data if pool.state == "active" else None
    points = (usage_series(esim, "data", RANGES[chosen], now=now, period_id=pool.period_id)
              if data is not None else [])
    nothing = not any(p.quantity for p in points) and pool.member_used == 0
    return {"usage_range": chosen,
            "usage_chart": "" if nothing else bar_chart(points, kind="data",
                                                        granularity=RANGES[chosen]),
            "usage_empty": nothing, "usage_shared": data is not None,
            "usage_used_text": format_quantity("data", pool.member_used) if data else "",
            "usage_total_text": format_quantity("data", data.total) if data else "",
            "forecast": None, "forecast_text": ""}


def live_data(esim: Esim, service: EsimService, forecast: Forecast | None,
              now: dt.datetime, pool: PoolShare | None = None) -> dict[str, Any]:
    if pool is not None:
        return _pool_live_data(esim, pool, now)
    current = service.current_or_pending
    return {
        "iccid": esim.iccid,
        "service": service.state,
        "at": now.isoformat(),
        "allowances": [{"kind": a.kind, "total": a.total, "used": a.used,
                        "remaining": a.remaining, "unit": a.unit,
                        "remaining_percent": a.remaining_percent,
                        "remaining_text": format_quantity(a.kind, a.remaining),
                        "total_text": format_quantity(a.kind, a.total),
                        "label": _("%(left)s left of %(total)s") % {
                            "left": format_quantity(a.kind, a.remaining),
                            "total": format_quantity(a.kind, a.total)}}
                       for a in (current.allowances if current else [])],
        "forecast_until": forecast.until.isoformat() if forecast else None,
        "forecast_text": forecast_text(forecast),
    }


def _pool_live_data(esim: Esim, pool: PoolShare, now: dt.datetime) -> dict[str, Any]:
    """The live figures of a pooled eSIM: the pool's, in the words of its card (the gauge's
    label says "Shared"), and the member's own limit."""
    gauge = pool_gauge(pool)
    shown = pool.state in ("active", "pending")
    return {
        "iccid": esim.iccid,
        "service": pool.state,
        "at": now.isoformat(),
        "allowances": [{"kind": a.kind, "total": a.total, "used": a.used,
                        "remaining": a.remaining, "unit": UNITS[a.kind],
                        "remaining_percent": a.remaining_percent,
                        "remaining_text": format_quantity(a.kind, a.remaining),
                        "total_text": format_quantity(a.kind, a.total),
                        "label": (gauge.label if gauge is not None and a.kind == "data"
                                  else _("%(left)s left of %(total)s") % {
                                      "left": format_quantity(a.kind, a.remaining),
                                      "total": format_quantity(a.kind, a.total)})}
                       for a in (pool.allowances if shown else ())],
        "pool": {"group": pool.group_id, "name": pool.group_name,
                 "cap": pool.cap, "member_used": pool.member_used,
                 "capped": pool.capped, "cap_text": pool.cap_text},
        "forecast_until": None,
        "forecast_text": "",
    }


@login_required
def esim_live(request: HttpRequest, iccid: str) -> JsonResponse:
    try:  # someone else's ICCID is a 404, exactly like an unknown one
        esim = esims.get_for_owner(user=request.user, iccid=iccid)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    now = clock.now()
    service = service_for([esim], now=now)[esim.pk]
    pool = pool_shares([esim], now).get(esim.pk)
    forecast = forecasts_for({esim.pk: service}, now=now)[esim.pk] if pool is None else None
    response = JsonResponse(live_data(esim, service, forecast, now, pool))
    response["Cache-Control"] = "private, no-store"
    return response
