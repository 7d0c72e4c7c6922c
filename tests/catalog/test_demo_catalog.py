"""The demo catalog (``make run``'s data, ``esimdesk.catalog.demo``): what a visitor of the demo
finds is whole and consistent, and loading it again changes nothing.

This is the one test module that loads it (besides the CLI's ``load_demo`` tests): every
other test builds the plans it needs (``tests.builders``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from esimdesk.catalog import queries, search
from esimdesk.catalog import services as catalog_services
from esimdesk.catalog.bundles import suppliers_for
from esimdesk.catalog.demo import (
    COUNTRIES,
    FIVE_G,
    REGIONS,
    TOP_UPS,
    _demo_plans,
    converted,
    load_catalog,
)
from esimdesk.catalog.models import (
    GB,
    Country,
    ExchangeRate,
    Plan,
    Price,
    Region,
    SupplierBundle,
    TopUpPrice,
    TopUpProduct,
)
from esimdesk.sharedplans.demo import load_group_plans

CURRENCIES = {"CNY", "USD", "EUR", "HKD"}
PLANS = len(COUNTRIES) * 4 + 3 * 2 + 2  # four per country, two per region, two global


@pytest.fixture
def demo(db: Any) -> int:
    return load_catalog()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every catalog row the loader writes, as values (no ids, no timestamps)."""
    return {
        "regions": list(Region.objects.order_by("code").values_list(
            "code", "name_en", "name_zh_hans", "sort")),
        "countries": list(Country.objects.order_by("code").values_list(
            "code", "region__code", "popular")),
        "plans": list(Plan.objects.order_by("code").values_list(
            "code", "coverage", "region__code", "kind", "validity_unit", "validity_count",
            "data_bytes", "voice_seconds", "sms_count", "depletion", "name_en",
            "name_zh_hans", "description_en", "description_zh_hans", "is_active", "sort")),
        "coverage": sorted(Plan.countries.through.objects.values_list(
            "plan__code", "country__code")),
        "prices": list(Price.objects.order_by("plan__code", "currency").values_list(
            "plan__code", "currency", "amount")),
        "top_ups": list(TopUpProduct.objects.order_by("code").values_list(
            "code", "name_en", "name_zh_hans", "data_bytes", "voice_seconds", "sms_count",
            "extends_validity_days", "is_active", "sort")),
        "top_up_plans": sorted(TopUpProduct.plans.through.objects.values_list(
            "topupproduct__code", "plan__code")),
        "top_up_prices": list(TopUpPrice.objects.order_by("product__code", "currency")
                              .values_list("product__code", "currency", "amount")),
        "bundles": list(SupplierBundle.objects.order_by("plan__code", "supplier").values_list(
            "plan__code", "supplier", "code", "cost", "cost_currency", "priority",
            "is_active")),
        "rates": list(ExchangeRate.objects.order_by("from_currency", "to_currency")
                      .values_list("from_currency", "to_currency", "rate", "set_by")),
    }


def test_demo_catalog_has_what_travellers_need(demo: int) -> None:
    assert demo == PLANS == Plan.objects.count()
    assert Country.objects.count() == len(COUNTRIES) >= 30
    assert set(Region.objects.values_list("code", flat=True)) == {
        code for code, *_ in REGIONS} >= {"asia", "europe", "americas", "global"}
    assert {"day", "month", "year"} <= set(Plan.objects.values_list("validity_unit", flat=True))
    assert Plan.objects.filter(voice_seconds__gt=0, sms_count__gt=0).exists()
    assert not Price.objects.filter(amount__lte=0).exists()


def test_every_demo_plan_has_prices_names_and_coverage(demo: int) -> None:
    everywhere = set(Country.objects.values_list("code", flat=True))
    plans = Plan.objects.prefetch_related("prices", "countries").select_related("region")
    for plan in plans:
        prices = {p.currency: p.amount for p in plan.prices.all()}
        assert set(prices) == CURRENCIES, plan.code
        assert all(amount > 0 and isinstance(amount, int) for amount in prices.values())
        assert {currency: converted(prices["USD"], currency)
                for currency in CURRENCIES - {"USD"}} == {
            currency: prices[currency] for currency in CURRENCIES - {"USD"}}, plan.code
        assert plan.name_en and plan.name_zh_hans and plan.description_en \
            and plan.description_zh_hans, plan.code
        assert plan.kind == Plan.Kind.PERSONAL and plan.is_active and plan.data_bytes >= GB
        covered = {c.code for c in plan.countries.all()}
        if plan.coverage == Plan.Coverage.COUNTRY:
            assert plan.region is None and covered == {plan.code[:2].upper()}, plan.code
        elif plan.coverage == Plan.Coverage.REGION:
            assert plan.region is not None and covered, plan.code
            assert covered == set(Country.objects.filter(region=plan.region)
                                  .values_list("code", flat=True)), plan.code
        else:
            assert plan.coverage == Plan.Coverage.GLOBAL, plan.code
            assert plan.region is not None and plan.region.code == "global"
            assert covered == everywhere, plan.code


def test_a_country_lists_its_own_regional_and_global_plans(demo: int) -> None:
    listed = queries.list_plans(country="jp")
    assert {p.coverage for p in listed} == {"country", "region", "global"}
    assert all(p.countries.filter(code="JP").exists() for p in listed)
    assert len(listed) == 4 + 2 + 2  # its own four, Asia-Pacific's two, the two global


def test_demo_top_ups_are_priced_and_fit_the_plans_they_name(demo: int) -> None:
    codes = set(TopUpProduct.objects.values_list("code", flat=True))
    assert codes == {code for code, *_ in TOP_UPS} == {
        "topup-1gb", "topup-3gb", "topup-5gb", "topup-100min-50sms", "topup-2gb-7days"}
    for product in TopUpProduct.objects.prefetch_related("prices"):
        assert {p.currency for p in product.prices.all()} == CURRENCIES
        assert all(p.amount > 0 and isinstance(p.amount, int) for p in product.prices.all())
        assert product.name_zh_hans and product.description_zh_hans
    three = TopUpProduct.objects.get(code="topup-3gb")
    assert three.allowances() == [("data", 3 * GB)]
    assert queries.top_up_price(three, "usd").amount == 1199
    # The calls top-up fits exactly the plans with calls; the extending one, those longer
    # than a day; the others, any personal plan.
    with_calls = set(Plan.objects.filter(voice_seconds__gt=0).values_list("code", flat=True))
    longer = set(Plan.objects.exclude(validity_unit="day").values_list("code", flat=True))
    fits = {p.code: set(p.plans.values_list("code", flat=True))
            for p in TopUpProduct.objects.all()}
    assert fits == {"topup-1gb": set(), "topup-3gb": set(), "topup-5gb": set(),
                    "topup-100min-50sms": with_calls, "topup-2gb-7days": longer}
    month = Plan.objects.get(code="jp-10gb-month")
    assert [p.code for p in queries.top_ups_for(month)] == [
        "topup-1gb", "topup-3gb", "topup-5gb", "topup-2gb-7days"]


def test_demo_plans_map_the_simulator_first_and_a_second_supplier_on_some(
        demo: int, settings: Any) -> None:
    def picked(code: str) -> list[tuple[str, str]]:
        return [(c.supplier, c.code) for c in suppliers_for(Plan.objects.get(code=code))]

    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["simulator"]}
    assert picked("jp-10gb-month") == [("simulator", "SIMU-JP-10GB-MONTH")]
    settings.ESIMDESK = {**settings.ESIMDESK,
                         "UPSTREAM_PROVIDERS": ["simulator", "es2plus", "esimgo"]}
    assert picked("jp-10gb-month") == [("simulator", "SIMU-JP-10GB-MONTH"),
                                       ("es2plus", "APAC-JP-10GB-MONTH")]
    own = SupplierBundle.objects.get(plan__code="jp-10gb-month", supplier="es2plus")
    assert own.cost_currency == "JPY" and own.cost > 0
    assert picked("fr-10gb-month") == [("simulator", "SIMU-FR-10GB-MONTH"),
                                       ("esimgo", "esim_10GB_30D_FR_V2")]
    plans = _demo_plans()
    assert len(plans) == PLANS
    assert not [code for code, p in plans.items() if not p.bundles.filter(supplier="simulator")]
    assert not SupplierBundle.objects.filter(cost__lte=0).exists()


def test_loading_twice_changes_nothing_and_keeps_rates_staff_set(demo: int) -> None:
    before = snapshot()
    assert len(before["bundles"]) > 200 and len(before["rates"]) > 10
    assert len(before["top_up_prices"]) == len(TOP_UPS) * len(CURRENCIES)
    assert load_catalog() == demo
    load_catalog()
    assert snapshot() == before
    catalog_services.set_exchange_rate(from_currency="USD", to_currency="CNY",
                                       rate=Decimal("7.31"))
    load_catalog()
    assert ExchangeRate.objects.get(from_currency="USD", to_currency="CNY").rate == \
        Decimal("7.31")
    assert ExchangeRate.objects.count() == len(before["rates"])


def test_converted_prices_are_price_points() -> None:
    assert converted(1299, "EUR") % 100 == 99
    assert converted(1299, "CNY") % 1000 in (0, 900)
    assert converted(1299, "HKD") % 100 == 0


def test_every_demo_destination_has_other_names_and_pinyin() -> None:
    names = search.other_names()
    for code, *_ in COUNTRIES:
        entry = names["countries"][code]
        assert entry["pinyin"] and all(p == p.lower() and p.replace(" ", "").isalpha()
                                       for p in entry["pinyin"]), code
    assert {code for code, *_ in REGIONS} <= set(names["regions"])


@pytest.mark.django_db
def test_demo_plans_say_5g_and_hotspot_and_popular_destinations_have_family_plans() -> None:
    load_catalog()
    load_group_plans()
    assert Plan.objects.get(code="jp-10gb-month").network_5g
    assert Plan.objects.get(code="th-10gb-month").network_5g is ("TH" in FIVE_G)
    assert Plan.objects.get(code="jp-10gb-month").hotspot
    assert not Plan.objects.get(code="jp-1gb-day").hotspot
    for code, _region, _tier, popular in COUNTRIES:
        family = queries.list_plans(country=code, kind="family")
        own = [p for p in family if p.coverage == Plan.Coverage.COUNTRY]
        assert bool(own) == popular, code
        if popular:
            assert own[0].group_terms.max_members == 6
