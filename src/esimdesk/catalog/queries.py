"""Catalog reads shared by the API and the portal."""

from __future__ import annotations

from django.db.models import Count, Min, Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from esimdesk.catalog.models import Country, Plan, Price, Region, TopUpPrice, TopUpProduct
from esimdesk.core.errors import NotFound, ValidationFailed
from esimdesk.core.money import Money, check_currency


def active_plans() -> QuerySet[Plan]:
    return (Plan.objects.filter(is_active=True)
            .select_related("region")
            .prefetch_related(Prefetch("prices", queryset=Price.objects.order_by("currency"))))


def list_plans(*, country: str | None = None, region: str | None = None,
               period: str | None = None, kind: str | None = None,
               currency: str | None = None) -> QuerySet[Plan]:
    plans = active_plans()
    if country:
        code = country.upper()
        if not Country.objects.filter(code=code).exists():
            raise NotFound(_("We have no plans for that country yet."), code="unknown_country",
                           detail={"country": country})
        plans = plans.filter(countries__code=code)
    if region:
        if not Region.objects.filter(code=region).exists():
            raise NotFound(code="unknown_region", detail={"region": region})
        plans = plans.filter(region__code=region)
    if period:
        if period not in Plan.Unit.values:
            raise ValidationFailed(code="invalid_period", detail={"allowed": Plan.Unit.values})
        plans = plans.filter(validity_unit=period)
    if kind:
        if kind not in Plan.Kind.values:
            raise ValidationFailed(code="invalid_kind", detail={"allowed": Plan.Kind.values})
        plans = plans.filter(kind=kind)
    if currency:
        plans = plans.filter(prices__currency=check_currency(currency))
    return plans.distinct().order_by("coverage", "sort", "code")


def get_plan(code: str) -> Plan:
    plan = active_plans().filter(code=code).first()
    if plan is None:
        raise NotFound(_("There is no such plan."), code="unknown_plan", detail={"plan": code})
    return plan


def plan_price(plan: Plan, currency: str) -> Money:
    """The plan's price in ``currency``, or a ``currency_not_available`` refusal."""
    code = check_currency(currency)
    price = plan.price_in(code)
    if price is None:
        raise ValidationFailed(_("This plan cannot be bought in that currency."),
                               code="currency_not_available",
                               detail={"plan": plan.code, "currency": code,
                                       "available": [p.currency for p in plan.prices.all()]})
    return price


def active_top_ups() -> QuerySet[TopUpProduct]:
    return (TopUpProduct.objects.filter(is_active=True)
            .prefetch_related("plans", Prefetch("prices",
                                                queryset=TopUpPrice.objects.order_by("currency")))
            .order_by("sort", "code"))


def get_top_up(code: str) -> TopUpProduct:
    product = active_top_ups().filter(code=code).first() if code else None
    if product is None:
        raise NotFound(_("There is no such top-up product."), code="unknown_product",
                       detail={"product": code})
    return product


def top_ups_for(plan: Plan) -> list[TopUpProduct]:
    """Active top-up products that can top up a period of ``plan``."""
    return [product for product in active_top_ups() if product.applies_to(plan)]


def top_up_price(product: TopUpProduct, currency: str) -> Money:
    """The product's price in ``currency``, or a ``currency_not_available`` refusal."""
    code = check_currency(currency)
    price = product.price_in(code)
    if price is None:
        raise ValidationFailed(_("This top-up cannot be bought in that currency."),
                               code="currency_not_available",
                               detail={"product": product.code, "currency": code,
                                       "available": [p.currency for p in product.prices.all()]})
    return price


def countries_by_region() -> list[tuple[Region, list[Country]]]:
    regions = list(Region.objects.prefetch_related("countries").order_by("sort"))
    return [(region, sorted(region.countries.all(), key=lambda c: c.name))
            for region in regions if region.countries.all()]


def lowest_prices(currency: str) -> tuple[dict[str, Money], dict[str, Money]]:
    """What the cheapest active personal plan costs in ``currency``, per country (any plan
    that works there: its own, its region's, a global one) and per region (the region's own
    plans); two queries whatever the size of the catalog."""
    prices = Price.objects.filter(currency=currency, plan__is_active=True,
                                  plan__kind=Plan.Kind.PERSONAL)
    by_country = (prices.order_by().values_list("plan__countries__code")
                  .annotate(lowest=Min("amount")))
    by_region = (prices.filter(plan__region__isnull=False).order_by()
                 .values_list("plan__region__code").annotate(lowest=Min("amount")))
    return ({code: Money(amount, currency) for code, amount in by_country if code},
            {code: Money(amount, currency) for code, amount in by_region if code})


def countries_per_region() -> dict[str, int]:
    """How many countries the region's active plans cover together (one query)."""
    rows = (Plan.objects.filter(is_active=True, region__isnull=False).order_by()
            .values_list("region__code").annotate(n=Count("countries", distinct=True)))
    return dict(rows)


def sold_country_codes() -> list[str]:
    """Countries an active plan works in (the time-zone picker lists their zones early)."""
    return sorted(set(Country.objects.filter(plans__is_active=True)
                      .values_list("code", flat=True)))
