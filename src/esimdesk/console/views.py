"""The console's own pages: the home page of figures, the list of alerts, and "Data" (the
Django admin's index of every model, for admins).

``/staff/`` is the home page. Who may see the business figures (``console.view_figures``:
finance and admin) sees them for today, 7 or 30 days (``?window=1d|7d|30d``), each figure a
link to the list behind it; an agent is sent on to the support queue; anyone else gets the
tasks they may open. A fixed number of queries, however many orders there are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk.catalog.margins import Rates
from esimdesk.console import nav
from esimdesk.console.alerts import describe
from esimdesk.console.models import Alert
from esimdesk.console.trends import sparkline, trend
from esimdesk.core import clock
from esimdesk.core.admin_base import console_page
from esimdesk.figures.figures import (
    FAILURES,
    RENEWAL_WAITING,
    Figures,
    Window,
    figures,
    reporting_currency,
    supplier_health,
)

WINDOWS = {"1d": (dt.timedelta(days=1), gettext_lazy("Today")),
           "7d": (dt.timedelta(days=7), gettext_lazy("7 days")),
           "30d": (dt.timedelta(days=30), gettext_lazy("30 days"))}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def link(name: str, **query: Any) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(query)}" if query else url


def links(window: Window) -> dict[str, str]:
    """The filtered list behind each figure."""
    since, until = iso(window.since), iso(window.until)
    return {
        "orders": link("admin:orders_order_changelist", paid_at__gte=since, paid_at__lt=until),
        "refunds": link("admin:payments_refund_changelist", status="succeeded",
                         succeeded_at__gte=since, succeeded_at__lt=until),
        "customers": link("admin:accounts_user_changelist", is_staff__exact="0",
                           date_joined__gte=since, date_joined__lt=until),
        "esims": link("admin:esims_esim_changelist", plan_running="yes"),
        "activations": link("staff_activations"),
        "renewals_succeeded": link("admin:payments_renewalattempt_changelist",
                                    state="succeeded", updated_at__gte=since,
                                    updated_at__lt=until),
        "renewals_declined": link("admin:payments_renewalattempt_changelist",
                                   state__in="retry_wait,failed", tries__gte="1",
                                   updated_at__gte=since, updated_at__lt=until),
        "renewals_waiting": link("admin:payments_renewalattempt_changelist",
                                  state__in=",".join(RENEWAL_WAITING)),
        "support": link("support_inbox:inbox"),
        "margin": link("staff_margins"),
        "calls": link("admin:provisioning_suppliercall_changelist", at__gte=since,
                       at__lt=until),
    }


def supplier_rows(hour: Window, day: Window) -> list[dict[str, Any]]:
    """Each supplier's health over the last hour and the last day, side by side."""
    by_name = {health.name: health for health in supplier_health(day)}
    rows = []
    for health in supplier_health(hour):
        rows.append({"hour": health, "day": by_name.pop(health.name, None),
                     "failures_link": link(
                         "admin:provisioning_suppliercall_changelist", supplier=health.name,
                         outcome__in=",".join(FAILURES), at__gte=iso(day.since),
                         at__lt=iso(day.until))})
    rows += [{"hour": None, "day": health, "failures_link": ""} for health in by_name.values()]
    return rows


def _trends(found: Figures) -> dict[str, Any]:
    currency = found.reporting_currency
    drawn = trend(found.window, currency, Rates.load())
    return {"orders": sparkline(drawn.orders, _("Paid orders over the window")),
            "revenue": sparkline(drawn.revenue, _("Revenue in %(currency)s over the window")
                                 % {"currency": currency}),
            "buckets": len(drawn.orders)}


@admin.site.admin_view
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_perm(nav.FIGURES):
        target = nav.landing(user)
        if target:
            return redirect(target)
        return console_page(request, "console/tasks.html", {
            "title": _("Console"), "items": nav.items_for(user, request.path)})
    chosen = request.GET.get("window", "1d")
    if chosen not in WINDOWS:
        chosen = "1d"
    now = clock.now()
    window = Window.last(WINDOWS[chosen][0], until=now)
    found = figures(window)
    return console_page(request, "console/home.html", {
        "title": _("The business at a glance"), "f": found, "links": links(window),
        "windows": [(key, label) for key, (_length, label) in WINDOWS.items()],
        "chosen": chosen, "now": now, "trends": _trends(found),
        "suppliers": supplier_rows(Window.last(dt.timedelta(hours=1), until=now),
                                   Window.last(dt.timedelta(days=1), until=now)),
        "currency": reporting_currency(),
        "open_alerts": Alert.objects.filter(open_key__isnull=False).count()})


@admin.site.admin_view
def data(request: HttpRequest) -> HttpResponse:
    """The admin's index of every model: admins only."""
    if not nav.is_admin(request.user):
        raise PermissionDenied
    return admin.site.index(request, extra_context={"title": nav.DATA})


@admin.site.admin_view
@permission_required("console.view_alert", raise_exception=True)
def alert_list(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("show", "open")
    alerts = Alert.objects.all()
    if shown == "open":
        alerts = alerts.filter(open_key__isnull=False)
    page = Paginator(alerts, 50).get_page(request.GET.get("page"))
    rows = [{"alert": alert, "text": describe(alert.kind, alert.details)} for alert in page]
    return console_page(request, "console/alerts.html", {
        "title": _("Alerts"), "page": page, "rows": rows, "show": shown})
