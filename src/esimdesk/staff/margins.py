"""The margins page: per plan and supplier, the cost, the sale price in each currency and
the margin (amount and %), negative and thin margins flagged; filters and a CSV download.

Staff need ``catalog.view_plan`` and ``catalog.view_supplierbundle`` (costs are not for
every agent). The numbers come from ``catalog.margins``; this module only reads the filters
and renders.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from esimdesk.catalog import margins as margin_math
from esimdesk.catalog.checks import configured_suppliers, known_suppliers
from esimdesk.catalog.models import Plan
from esimdesk.core import clock, csv_safe
from esimdesk.core.admin_base import console_page
from esimdesk.provisioning import registry as upstream

CSV_COLUMNS = ["plan", "name", "coverage", "kind", "supplier", "configured", "bundle_code",
               "priority", "active", "cost", "cost_currency", "currency", "price",
               "cost_converted", "margin", "margin_percent", "flag"]


def _filters(request: HttpRequest) -> dict[str, str]:
    """The filters as given, each kept only when it is one of the allowed values."""
    coverage = request.GET.get("coverage", "")
    kind = request.GET.get("kind", "")
    supplier = request.GET.get("supplier", "")
    return {"coverage": coverage if coverage in Plan.Coverage.values else "",
            "kind": kind if kind in Plan.Kind.values else "",
            "supplier": supplier if supplier in known_suppliers() else "",
            "q": (request.GET.get("q") or "").strip()[:60]}


def _thin(request: HttpRequest) -> Decimal:
    try:
        value = Decimal(request.GET.get("thin") or margin_math.THIN_PERCENT)
    except InvalidOperation:
        return margin_math.THIN_PERCENT
    return value if value.is_finite() and 0 <= value <= 100 else margin_math.THIN_PERCENT


@staff_member_required
@permission_required(["catalog.view_plan", "catalog.view_supplierbundle"],
                     raise_exception=True)
def margins(request: HttpRequest) -> HttpResponse:
    filters, thin = _filters(request), _thin(request)
    report = margin_math.report(coverage=filters["coverage"], kind=filters["kind"],
                                supplier=filters["supplier"], thin=thin, query=filters["q"])
    if request.GET.get("format") == "csv":
        return _csv(report)
    language = get_language()
    rows = [{"row": row, "cells": [(c, _cell(row.margins.get(c), language))
                                   for c in report.currencies],
             "cost": row.bundle.cost_money.format(language) if row.bundle else "",
             "supplier": upstream.label(row.bundle.supplier) if row.bundle else ""}
            for row in report.rows]
    counts = {flag: sum(1 for row in report.rows if row.worst == flag)
              for flag in (margin_math.NEGATIVE, margin_math.THIN, margin_math.NO_RATE,
                           "unmapped")}
    return console_page(request, "staff/margins.html", {
        "title": _("Margins per plan and supplier"),
        "report": report, "rows": rows, "filters": filters, "thin": thin, "counts": counts,
        "coverages": Plan.Coverage.choices, "kinds": Plan.Kind.choices,
        "suppliers": [(name, upstream.label(name)) for name in known_suppliers()],
        "configured": [upstream.label(name) for name in configured_suppliers()],
        # Shown without the column's trailing zeros: 7.2, not 7.2000000000.
        "rates": [(r, format(r.rate.normalize(), "f")) for r in sorted(
            report.rates.direct.values(), key=lambda r: (r.from_currency, r.to_currency))],
        "csv_query": request.GET.urlencode(),
    })


def _cell(margin: margin_math.Margin | None, language: str | None) -> dict[str, str] | None:
    if margin is None:
        return None
    return {
        "price": margin.price.format(language),
        "cost": margin.cost.format(language) if margin.cost is not None else "",
        "amount": margin.amount.format(language) if margin.amount is not None else "",
        "percent": f"{margin.percent}%" if margin.percent is not None else "",
        "flag": margin.flag,
    }


def _csv(report: margin_math.Report) -> HttpResponse:
    """One line per plan, supplier and sale currency; amounts in major units with the
    currency's decimals (``12.30``, ``1234`` for JPY), so a spreadsheet sums them exactly."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="margins-{clock.now():%Y%m%d-%H%M}.csv"')
    writer = csv_safe.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        bundle = row.bundle
        head = [row.plan.code, row.plan.name_en, row.plan.coverage, row.plan.kind,
                bundle.supplier if bundle else "", "yes" if row.configured else "no",
                bundle.code if bundle else "", bundle.priority if bundle else "",
                ("yes" if bundle.is_active else "no") if bundle else "",
                bundle.cost_money.decimal_string() if bundle else "",
                bundle.cost_currency if bundle else ""]
        for currency in report.currencies:
            margin = row.margins.get(currency, None)
            price = row.plan.price_in(currency)
            if price is None:
                continue
            if margin is None:
                writer.writerow([*head, currency, price.decimal_string(), "", "", "",
                                 "unmapped"])
                continue
            writer.writerow([*head, currency, price.decimal_string(),
                             margin.cost.decimal_string() if margin.cost is not None else "",
                             margin.amount.decimal_string() if margin.amount is not None
                             else "",
                             str(margin.percent) if margin.percent is not None else "",
                             margin.flag])
    return response
