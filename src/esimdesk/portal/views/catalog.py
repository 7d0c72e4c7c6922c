"""Catalog pages: destinations (popular, regions, A-Z, search with suggestions), a
country's or region's plans, one plan."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk.catalog import queries, search
from esimdesk.catalog.models import Country, Plan, Region
from esimdesk.catalog.offers import Offer, offers
from esimdesk.core.errors import NotFound
from esimdesk.core.i18n import country_name
from esimdesk.core.money import Money
from esimdesk.portal.templatetags.flags import flag_url, region_icon
from esimdesk.portal.views.common import current_currency

SUGGESTIONS = 8
SUGGEST_CACHE_SECONDS = 300


def _is_chinese() -> bool:
    return (translation.get_language() or "").startswith("zh")


def _sort_name(code: str, name: str) -> str:
    """How a country sorts in the active language: by pinyin in Chinese."""
    if _is_chinese():
        spellings = search.other_names()["countries"].get(code, {}).get("pinyin") or [name]
        return spellings[0].replace(" ", "")
    return search.normalize(name)


def _letter(code: str, name: str) -> str:
    if _is_chinese():
        return search.pinyin_initial(code) or "#"
    first = search.normalize(name)[:1].upper()
    return first if first.isalpha() else "#"


def _describe(matches: list[search.Match], currency: str) -> list[dict[str, Any]]:
    """Suggestions as the page and the JSON endpoint show them."""
    by_country, by_region = queries.lowest_prices(currency)
    regions = {r.code: r for r in Region.objects.filter(
        code__in=[m.code for m in matches if m.kind == "region"])}
    found = []
    for match in matches:
        if match.kind == "country":
            name, url = country_name(match.code), reverse("portal:destination",
                                                          args=[match.code])
            price, flag, icon = by_country.get(match.code), flag_url(match.code), ""
        else:
            region = regions[match.code]
            name, url = region.name, reverse("portal:region", args=[match.code])
            price, flag, icon = by_region.get(match.code), "", region_icon(match.code)
        found.append({"kind": match.kind, "code": match.code, "name": name, "url": url,
                      "flag": flag, "icon": icon, "price": price,
                      "from": _("from %(price)s") % {"price": price.format(
                          translation.get_language())} if price else ""})
    return found


def home(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:60]
    currency = current_currency(request)
    results: list[dict[str, Any]] = []
    if query:
        best = search.best_match(query)
        if best is not None:
            return redirect(reverse("portal:destination" if best.kind == "country"
                                    else "portal:region", args=[best.code]))
        results = _describe(search.search(query, limit=12), currency)
    by_country, by_region = queries.lowest_prices(currency)
    countries = [(c, country_name(c.code)) for c in Country.objects.all()]
    cards: list[dict[str, Any]] = [{"country": c, "name": name, "price": by_country.get(c.code)}
             for c, name in sorted(countries, key=lambda pair: _sort_name(pair[0].code,
                                                                         pair[1]))]
    keys = {d.code: " ".join(d.keys) for d in search.destinations() if d.kind == "country"}
    letters: dict[str, list[dict[str, Any]]] = {}
    for card in cards:
        card["keys"] = keys.get(card["country"].code, "")
        letters.setdefault(_letter(card["country"].code, card["name"]), []).append(card)
    counts = queries.countries_per_region()
    regions = [{"region": r, "icon": region_icon(r.code), "count": counts.get(r.code, 0),
                "price": by_region.get(r.code)}
               for r in Region.objects.order_by("sort", "code") if r.code in by_region]
    return render(request, "portal/home.html", {
        "popular": [c for c in cards if c["country"].popular],
        "regions": regions,
        "letters": sorted(letters.items()),
        "query": query, "results": results,
        "not_found": bool(query) and not results,
        "currency": currency,
    })


def suggest(request: HttpRequest) -> JsonResponse:
    """Destinations matching ``q`` as the search box suggests them while one types: small
    and cached (per language, currency and query) for a few minutes."""
    query = (request.GET.get("q") or "").strip()[:60]
    currency = current_currency(request)
    language = translation.get_language() or "en"
    key = f"portal:suggest:{language}:{currency}:{search.normalize(query)}"
    body = cache.get(key)
    if body is None:
        found = _describe(search.search(query, limit=SUGGESTIONS), currency) if query else []
        body = {"query": query, "results": [
            {k: v for k, v in item.items() if k != "price"} for item in found]}
        cache.set(key, body, SUGGEST_CACHE_SECONDS)
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = f"private, max-age={SUGGEST_CACHE_SECONDS}"
    response["Vary"] = "Cookie, Accept-Language"
    return response


def _plans_page(request: HttpRequest, *, title: str, plans: Any, country: str = "",
                region: str = "") -> HttpResponse:
    currency = current_currency(request)
    plans = list(plans)
    personal = offers([p for p in plans if p.kind == Plan.Kind.PERSONAL], currency)
    shared = offers([p for p in plans if p.kind != Plan.Kind.PERSONAL], currency)
    for offer in shared:
        offer.best_value = False
    headings = {Plan.Unit.DAY: _("Daily plans"), Plan.Unit.MONTH: _("Monthly plans"),
                Plan.Unit.YEAR: _("Yearly plans")}
    groups: list[tuple[str, list[Offer]]] = [
        (heading, [o for o in personal if o.plan.validity_unit == unit])
        for unit, heading in headings.items()]
    covered: dict[str, Country] = {}
    if region:
        for plan in plans:
            covered.update({c.code: c for c in plan.countries.all()})
    prices = [o.price for o in personal if o.price is not None]
    lowest: Money | None = min(prices, key=lambda m: m.amount) if prices else None
    return render(request, "portal/plans.html", {
        "title": title, "country": country, "region": region,
        "icon": region_icon(region) if region else "",
        "groups": [g for g in groups if g[1]], "shared": shared,
        "lowest": lowest, "count": len(personal), "currency": currency,
        "covered": sorted(covered.values(), key=lambda c: _sort_name(c.code, c.name)),
    })


def destination(request: HttpRequest, code: str) -> HttpResponse:
    try:
        plans = queries.list_plans(country=code).prefetch_related("countries")
    except NotFound as error:
        raise Http404(str(error.message)) from error
    return _plans_page(request, title=country_name(code.upper()), plans=plans,
                       country=code.upper())


def region(request: HttpRequest, code: str) -> HttpResponse:
    item = Region.objects.filter(code=code).first()
    if item is None:
        raise Http404
    plans = queries.list_plans(region=code).prefetch_related("countries")
    return _plans_page(request, title=item.name, plans=plans, region=code)


def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        plan = queries.get_plan(code)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    currency = current_currency(request)
    countries = sorted(plan.countries.all(), key=lambda c: _sort_name(c.code, c.name))
    price = plan.price_in(currency)
    return render(request, "portal/plan.html", {
        "plan": plan, "price": price, "currency": currency,
        "per_gb": plan.price_per_gb(price),
        "countries": countries,
        "country": countries[0].code if plan.coverage == Plan.Coverage.COUNTRY and countries
        else "",
        "icon": region_icon(plan.region.code) if plan.region else "",
        "prices": list(plan.prices.all()),
    })
