"""Catalog pages: destinations, a country's or region's plans, one plan."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from esimdesk.catalog import queries
from esimdesk.catalog.models import Country, Plan, Region
from esimdesk.core.errors import NotFound
from esimdesk.core.i18n import country_name
from esimdesk.portal.views.common import current_currency


def home(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()
    if query:
        match = _find_country(query)
        if match is not None:
            return redirect("portal:destination", code=match.code)
    popular = [c for c in Country.objects.filter(popular=True)]
    return render(request, "portal/home.html", {
        "popular": sorted(popular, key=lambda c: c.name),
        "regions": queries.countries_by_region(),
        "query": query,
        "not_found": bool(query),
    })


def _find_country(query: str) -> Country | None:
    text = query.casefold()
    for country in Country.objects.all():
        names = {country.code.casefold(), country_name(country.code, "en").casefold(),
                 country_name(country.code, "zh-hans").casefold()}
        if text in names or any(n.startswith(text) for n in names if len(text) >= 2):
            return country
    return None


def _plans_page(request: HttpRequest, *, title: str, plans: object,
                heading_flag: str = "") -> HttpResponse:
    currency = current_currency(request)
    items = [(plan, plan.price_in(currency)) for plan in plans]  # type: ignore[attr-defined]
    headings = {Plan.Unit.DAY: _("Daily plans"), Plan.Unit.MONTH: _("Monthly plans"),
                Plan.Unit.YEAR: _("Yearly plans")}
    groups = [
        (heading, [(p, price) for p, price in items if p.validity_unit == unit])
        for unit, heading in headings.items()
    ]
    return render(request, "portal/plans.html", {
        "title": title, "flag": heading_flag, "groups": [g for g in groups if g[1]],
        "currency": currency,
    })


def destination(request: HttpRequest, code: str) -> HttpResponse:
    try:
        plans = queries.list_plans(country=code).prefetch_related("countries")
    except NotFound as error:
        raise Http404(str(error.message)) from error
    country = Country.objects.get(code=code.upper())
    return _plans_page(request, title=country.name, plans=plans, heading_flag=country.flag)


def region(request: HttpRequest, code: str) -> HttpResponse:
    item = Region.objects.filter(code=code).first()
    if item is None:
        raise Http404
    plans = queries.list_plans(region=code).prefetch_related("countries")
    return _plans_page(request, title=item.name, plans=plans)


def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        plan = queries.get_plan(code)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    currency = current_currency(request)
    countries = sorted(plan.countries.all(), key=lambda c: c.name)
    return render(request, "portal/plan.html", {
        "plan": plan, "price": plan.price_in(currency), "currency": currency,
        "countries": countries,
        "prices": list(plan.prices.all()),
    })
