"""The margins page: cost against sale price per plan, supplier and currency, with exact
conversion through staff-set exchange rates (JPY has no minor units; a missing rate is said,
never guessed); filters, CSV, both languages, and only for staff allowed to see costs."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.catalog import margins
from esimdesk.catalog.models import ExchangeRate, Plan, SupplierBundle
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.core.money import Money
from tests.builders import MONTH, Shop, bundle, exchange_rates, plan, regional_plan


def rates(*pairs: tuple[str, str, str]) -> margins.Rates:
    return margins.Rates([ExchangeRate(from_currency=a, to_currency=b, rate=Decimal(r),
                                       set_at=clock.now()) for a, b, r in pairs])


def test_same_currency_needs_no_rate() -> None:
    m = margins.margin(price=Money(1699, "USD"), cost=Money(985, "USD"), rates=rates())
    assert (m.amount, m.percent, m.flag) == (Money(714, "USD"), Decimal("42.0"), "ok")


def test_conversion_is_exact_and_rounded_once_to_minor_units() -> None:
    table = rates(("USD", "CNY", "7.2"), ("USD", "JPY", "150.5"), ("JPY", "USD", "0.00667"))
    # $10.00 at 7.2 is exactly ¥72.00 (7200 fen) against a ¥99.00 price.
    m = margins.margin(price=Money(9900, "CNY"), cost=Money(1000, "USD"), rates=table)
    assert (m.cost, m.amount, m.percent) == (Money(7200, "CNY"), Money(2700, "CNY"),
                                             Decimal("27.3"))
    # JPY has no minor units: $12.99 x 150.5 = 1954.995 yen -> 1955 (half up), 45 left.
    m = margins.margin(price=Money(2000, "JPY"), cost=Money(1299, "USD"), rates=table)
    assert (m.cost, m.amount, m.percent, m.flag) == (Money(1955, "JPY"), Money(45, "JPY"),
                                                     Decimal("2.3"), "thin")
    # 1234 yen x 0.00667 = $8.23078 -> 823 cents.
    m = margins.margin(price=Money(799, "USD"), cost=Money(1234, "JPY"), rates=table)
    assert (m.cost, m.amount, m.flag) == (Money(823, "USD"), Money(-24, "USD"), "negative")
    assert m.percent == Decimal("-3.0")


def test_a_missing_pair_is_read_from_its_inverse_else_no_rate() -> None:
    table = rates(("USD", "CNY", "7.2"))
    m = margins.margin(price=Money(1299, "USD"), cost=Money(7200, "CNY"), rates=table)
    assert m.cost == Money(1000, "USD")  # 72 / 7.2, not a rounded 1/7.2
    m = margins.margin(price=Money(1299, "EUR"), cost=Money(1000, "USD"), rates=table)
    assert (m.cost, m.amount, m.percent, m.flag) == (None, None, None, "no_rate")


def test_thin_line_is_a_parameter() -> None:
    m = margins.margin(price=Money(1000, "USD"), cost=Money(850, "USD"), rates=rates(),
                       thin=Decimal("10"))
    assert (m.percent, m.flag) == (Decimal("15.0"), "ok")
    m = margins.margin(price=Money(1000, "USD"), cost=Money(850, "USD"), rates=rates(),
                       thin=Decimal("20"))
    assert m.flag == "thin"


# Costs as suppliers charge them: most plans keep a margin, the global year is a loss leader
# sold below cost; Japan's month is also at the operator's own SM-DP+ (in yen), France's and
# Europe's at eSIM Go (in pounds) as a second choice; a Mexican day maps no bundle at all.
RATES = [("USD", "CNY", "7.2"), ("USD", "EUR", "0.93"), ("USD", "HKD", "7.8"),
         ("JPY", "CNY", "0.0481"), ("JPY", "USD", "0.00667"), ("JPY", "EUR", "0.0062"),
         ("JPY", "HKD", "0.052"), ("GBP", "CNY", "9.12"), ("GBP", "USD", "1.267"),
         ("GBP", "EUR", "1.178"), ("GBP", "HKD", "9.88")]


@dataclass
class Costed:
    shop: Shop
    leader: Plan
    unmapped: Plan


@pytest.fixture
def costed(shop: Shop) -> Costed:
    bundle(shop.day, code="SIMU-JP-1GB-DAY", cost=185)
    bundle(shop.month, code="SIMU-JP-10GB-MONTH", cost=985)
    bundle(shop.month, "es2plus", code="APAC-JP-10GB-MONTH", cost=1223, currency="JPY")
    bundle(shop.calls, code="SIMU-JP-30GB-CALLS", cost=1979)
    bundle(shop.year, code="SIMU-JP-100GB-YEAR", cost=6188)
    france = plan(countries=("FR",), unit="month", data_gb=10, usd=1699)
    bundle(france, code="SIMU-FR-10GB-MONTH", cost=985)
    bundle(france, "esimgo", code="esim_10GB_30D_FR_V2", cost=751, currency="GBP",
           priority=2)
    europe = regional_plan("europe", data_gb=20, usd=2799)
    bundle(europe, code="SIMU-EUROPE-20GB-MONTH", cost=1959)
    bundle(europe, "esimgo", code="esim_20GB_30D_EU_V2", cost=1240, currency="GBP",
           priority=2)
    leader = regional_plan("global", countries=("JP", "FR", "US"), unit="year", data_gb=50,
                           usd=12900)
    bundle(leader, code="SIMU-GLOBAL-50GB-YEAR", cost=13416)
    unmapped = plan(countries=("MX",), usd=299)
    exchange_rates(*RATES)
    return Costed(shop, leader, unmapped)


def test_report_rows_filters_and_a_query_count_independent_of_size(
        costed: Costed, django_assert_num_queries: object) -> None:
    with django_assert_num_queries(4):  # type: ignore[operator]
        everything = margins.report()
    assert len(everything.rows) == 11 and everything.currencies == ["CNY", "USD", "EUR", "HKD"]
    [row] = [r for r in everything.rows if r.plan == costed.unmapped]
    assert row.bundle is None and row.worst == "unmapped"
    for n in range(20):  # twenty plans more, each mapped: still four queries
        bundle(plan(countries=("TH",), usd=199 + n), code=f"SIMU-TH-{n}", cost=120)
    with django_assert_num_queries(4):  # type: ignore[operator]
        assert len(margins.report().rows) == 31
    by_supplier = margins.report(supplier="esimgo")
    assert by_supplier.rows and {r.bundle.supplier for r in by_supplier.rows
                                 if r.bundle} == {"esimgo"}
    regional = margins.report(coverage="region")
    assert {r.plan.coverage for r in regional.rows} == {"region"}
    assert margins.report(kind="family").rows == []
    [jp] = margins.report(query="SIMU-JP-10GB", supplier="simulator").rows
    assert jp.plan == costed.shop.month and jp.bundle is not None
    # The loss leader is flagged in every currency.
    [leader] = margins.report(query=costed.leader.code, supplier="simulator").rows
    assert leader.worst == "negative"
    assert {m.flag for m in leader.margins.values() if m} == {"negative"}


def staff_client(*perms: str, language: str = "en") -> Client:
    user = User.objects.create_user(f"staff-{len(perms)}-{language}@example.com",
                                    "x-long-password-1", is_staff=True, language=language)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app,
                                                         codename=codename))
    client = Client()
    client.force_login(user)
    return client


ALLOWED = ("catalog.view_plan", "catalog.view_supplierbundle")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_page_renders_in_both_languages(costed: Costed, language: str) -> None:
    page = staff_client(*ALLOWED, language=language).get("/staff/margins/?supplier=simulator")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'lang="{language}"' in html
    jp = costed.shop.month
    assert "SIMU-JP-10GB-MONTH" in html
    # Money is formatted for the reader's locale (Babel): en "$16.99", zh "US$16.99".
    assert jp.price_in("USD").format(language) in html  # type: ignore[union-attr]
    assert "flag-negative" in html  # the loss leader
    # The admin's own strings show the language is active ("Log out" / "注销").
    assert ("Log out" if language == "en" else "注销") in html


def test_staff_without_the_catalog_permission_are_refused(db: None) -> None:
    assert staff_client().get("/staff/margins/").status_code == 403
    assert staff_client("catalog.view_plan").get("/staff/margins/").status_code == 403
    customer = Client()
    customer.force_login(User.objects.create_user("c@example.com", "x-long-password-1"))
    assert customer.get("/staff/margins/").status_code == 302  # to the staff sign-in


def test_csv_download_matches_the_arithmetic(costed: Costed) -> None:
    response = staff_client(*ALLOWED).get(
        f"/staff/margins/?format=csv&q={MONTH}&supplier=simulator")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["currency"] for r in rows} == {"CNY", "USD", "EUR", "HKD"}
    usd = next(r for r in rows if r["currency"] == "USD")
    bundle = SupplierBundle.objects.get(plan__code=MONTH, supplier="simulator")
    price = costed.shop.month.price_in("USD")
    assert price is not None
    expected = margins.margin(price=price, cost=bundle.cost_money, rates=margins.Rates.load())
    assert (usd["supplier"], usd["bundle_code"], usd["price"], usd["cost"]) == (
        "simulator", "SIMU-JP-10GB-MONTH", price.decimal_string(),
        bundle.cost_money.decimal_string())
    assert expected.amount is not None
    assert (usd["margin"], usd["margin_percent"], usd["flag"]) == (
        expected.amount.decimal_string(), str(expected.percent), expected.flag)


def test_csv_quotes_text_a_spreadsheet_would_run(costed: Costed) -> None:
    month = costed.shop.month
    month.name_en = '=HYPERLINK("http://evil.example","Japan")'
    month.save(update_fields=["name_en"])
    SupplierBundle.objects.filter(plan=month, supplier="simulator").update(code="@SUM(1)")
    response = staff_client(*ALLOWED).get(
        f"/staff/margins/?format=csv&q={MONTH}&supplier=simulator")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows and all(r["name"] == "'" + month.name_en for r in rows)
    assert all(r["bundle_code"] == "'@SUM(1)" for r in rows)
    # margins stay numbers a spreadsheet adds up, negative ones included
    assert all(not r["margin"].startswith("'") for r in rows)


def test_exchange_rates_edited_in_the_console_are_stamped_and_audited(db: None) -> None:
    admin = Client()
    admin.force_login(User.objects.create_superuser("fx@example.com", "x-long-password-1"))
    clock.set_now(clock.now())
    response = admin.post("/staff/catalog/exchangerate/add/",
                          {"from_currency": "KRW", "to_currency": "USD", "rate": "0.00072"})
    assert response.status_code == 302, response.content.decode()[:2000]
    rate = ExchangeRate.objects.get(from_currency="KRW")
    assert rate.set_by.endswith("fx@example.com") and rate.set_at == clock.now()
    response = admin.post(f"/staff/catalog/exchangerate/{rate.pk}/change/", {"rate": "0.00075"})
    assert response.status_code == 302
    entries = AuditEntry.objects.filter(action="catalog.exchange_rate.set",
                                        object_id=str(rate.pk)).order_by("pk")
    assert [e.after["rate"] for e in entries] == ["0.00072", "0.00075"]
    assert entries[1].before == {"rate": "0.0007200000"}
    bad = admin.post("/staff/catalog/exchangerate/add/",
                     {"from_currency": "USD", "to_currency": "USD", "rate": "1"})
    assert bad.status_code == 200 and "two different currencies" in bad.content.decode()
