"""The console's Money page, where finance lands: ``/staff/money/?window=1d|7d|30d``.

Revenue per currency and in the reporting currency (gross, refunded, net), the paid orders,
the refunds that succeeded and those that need someone, the payments per provider and
outcome, the margin and the organisations' invoices, each figure a link to the list behind
it (``links``, one test per link in ``tests/console/test_money.py``). The numbers come from
``figures.finance``; this module reads the window, builds the links and renders, in a fixed
number of queries whatever the number of orders.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from esimdesk.catalog.margins import Rates
from esimdesk.console import nav
from esimdesk.console.trends import sparkline, trend
from esimdesk.console.views import WINDOWS, iso, link
from esimdesk.core import clock
from esimdesk.core.admin_base import console_page
from esimdesk.figures.figures import Window
from esimdesk.figures.finance import OUTCOMES, Finance, finance
from esimdesk.payments.models import Payment

PAYMENTS = "admin:payments_payment_changelist"
REFUNDS = "admin:payments_refund_changelist"


def links(window: Window) -> dict[str, str]:
    """The filtered list behind each figure of the page (not per provider or currency)."""
    since, until = iso(window.since), iso(window.until)
    return {
        "orders": link("admin:orders_order_changelist", paid_at__gte=since,
                       paid_at__lt=until),
        "refunds": link(REFUNDS, status="succeeded", succeeded_at__gte=since,
                        succeeded_at__lt=until),
        "refunds_pending": link(REFUNDS, status="pending"),
        "refunds_failed": link(REFUNDS, status="failed", created_at__gte=since,
                               created_at__lt=until),
        "payments": link(PAYMENTS, created_at__gte=since, created_at__lt=until),
        "margin_lines": link("admin:orders_orderline_changelist",
                             order__paid_at__gte=since, order__paid_at__lt=until),
        "margins": link("staff_margins"),
        "invoices_issued": link("staff_invoices", issued_at__gte=since, issued_at__lt=until),
        "invoices_paid": link("staff_invoices", paid_at__gte=since, paid_at__lt=until),
        "invoices_overdue": link("staff_invoices", status="overdue"),
    }


def currency_links(window: Window, currency: str) -> dict[str, str]:
    """The orders paid and the refunds that succeeded in ``currency`` in the window."""
    since, until = iso(window.since), iso(window.until)
    return {
        "orders": link("admin:orders_order_changelist", currency=currency,
                       paid_at__gte=since, paid_at__lt=until),
        "refunds": link(REFUNDS, currency=currency, status="succeeded",
                        succeeded_at__gte=since, succeeded_at__lt=until),
    }


def outcome_link(window: Window, provider: str, outcome: str) -> str:
    return link(PAYMENTS, provider=provider, status=outcome, created_at__gte=iso(window.since),
                created_at__lt=iso(window.until))


def _providers(found: Finance) -> tuple[list[str], list[dict[str, Any]]]:
    """The outcomes any provider had (column headers), and each provider's row: a cell per
    such outcome (count and link to those payments)."""
    labels = dict(Payment.Status.choices)
    shown = [outcome for outcome in OUTCOMES
             if any(line.outcomes.get(outcome) for line in found.providers)]
    return [str(labels[outcome]) for outcome in shown], [{"line": line, "cells": [
        {"outcome": outcome, "label": labels[outcome], "count": line.outcomes.get(outcome, 0),
         "url": outcome_link(found.window, line.provider, outcome)} for outcome in shown]}
        for line in found.providers]


@admin.site.admin_view
@permission_required(nav.MONEY, raise_exception=True)
def money(request: HttpRequest) -> HttpResponse:
    chosen = request.GET.get("window", "1d")
    if chosen not in WINDOWS:
        chosen = "1d"
    now = clock.now()
    window = Window.last(WINDOWS[chosen][0], until=now)
    found = finance(window)
    drawn = trend(window, found.reporting_currency, Rates.load())
    headers, providers = _providers(found)
    return console_page(request, "console/money.html", {
        "title": _("Money"), "f": found, "links": links(window),
        "currencies": [{"line": line, "links": currency_links(window, line.currency)}
                       for line in found.currencies],
        "outcome_headers": headers, "providers": providers,
        "windows": [(key, label) for key, (_length, label) in WINDOWS.items()],
        "chosen": chosen, "now": now,
        "revenue_trend": sparkline(drawn.revenue, _("Revenue in %(currency)s over the window")
                                   % {"currency": found.reporting_currency})})
