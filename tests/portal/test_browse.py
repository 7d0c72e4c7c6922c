"""Browsing the catalog: the destinations page (flags as images, "from" prices in the
visitor's currency, popular first, regions, A-Z), search without JavaScript and the
suggestions endpoint, and plan cards (price per GB, best value, 5G and hotspot)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esimdesk.catalog.models import Country
from esimdesk.core.money import Money
from tests.builders import CountryFactory, RegionFactory, make_group_plans, plan, regional_plan

pytestmark = pytest.mark.django_db

# 30 codes CLDR knows, spread over three regions
MANY = ["JP", "TH", "KR", "SG", "MY", "VN", "ID", "PH", "TW", "HK", "GB", "FR", "DE", "IT",
        "ES", "PT", "NL", "CH", "AT", "GR", "IE", "SE", "NO", "DK", "US", "CA", "MX", "BR",
        "AR", "CL"]


def catalog(codes: list[str], *, region: bool = True) -> None:
    for index, code in enumerate(codes):
        CountryFactory(code=code, popular=index % 3 == 0)
        plan(code=f"{code.lower()}-day", countries=[code], data_gb=1, usd=299 + index)
        plan(code=f"{code.lower()}-month", countries=[code], unit="month", data_gb=10,
             usd=1699)
    if region:
        regional_plan("asia", countries=[c for c in codes if c in ("JP", "TH", "KR")],
                      data_gb=20, usd=2999, code="asia-month")


def test_home_shows_flags_as_images_and_from_prices_in_the_visitors_currency() -> None:
    catalog(["JP", "TH", "GB"])
    page = Client().get("/?currency=CNY").content.decode()
    assert '<img class="flag flag-lg" src="/static/flags/jp.gif" alt="" width="32" ' \
           'height="22" loading="lazy">' in page
    assert "\U0001F1EF\U0001F1F5" not in page  # no emoji flag
    # 2.99 USD -> 29 yuan at the catalog's price points, as money reads in English
    assert f"from {Money(2900, 'CNY').format('en')}" in page
    assert 'href="/regions/asia/"' in page
    assert 'data-names="' in page and "riben" in page  # the A-Z filter knows the pinyin


def test_home_query_count_does_not_grow_with_the_number_of_countries() -> None:
    catalog(MANY[:3])
    client = Client()
    client.get("/")  # the session and caches settle
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    catalog(MANY[3:], region=False)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/").status_code == 200
    assert Country.objects.count() == 30
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_destination_page_query_count_does_not_grow_with_the_number_of_plans() -> None:
    catalog(["JP", "TH", "KR"])
    client = Client()
    client.get("/destinations/JP/")
    with CaptureQueriesContext(connection) as few:
        client.get("/destinations/JP/")
    for n in range(10):
        plan(code=f"jp-more-{n}", countries=["JP"], unit="month", data_gb=n + 1, usd=500 + n)
    with CaptureQueriesContext(connection) as many:
        client.get("/destinations/JP/")
    assert len(many) == len(few)


@pytest.mark.parametrize(("query", "where"), [
    ("riben", "/destinations/JP/"), ("ri ben", "/destinations/JP/"), ("日本", "/destinations/JP/"),
    ("taiguo", "/destinations/TH/"), ("UK", "/destinations/GB/"),
    ("England", "/destinations/GB/"), ("jap", "/destinations/JP/"),
])
def test_search_without_javascript_understands_pinyin_and_aliases(query: str,
                                                                  where: str) -> None:
    catalog(["JP", "TH", "GB"])
    response = Client().get("/", {"q": query})
    assert response.status_code == 302 and response["Location"] == where


def test_an_ambiguous_search_lists_the_matches_and_a_miss_says_so() -> None:
    catalog(["NL", "NZ", "JP"])
    page = Client().get("/", {"q": "ne"}).content.decode()
    assert "Destinations matching" in page
    assert 'href="/destinations/NL/"' in page and 'href="/destinations/NZ/"' in page
    missing = Client().get("/", {"q": "atlantis"}).content.decode()
    assert "We found no destination called" in missing


def test_suggestions_endpoint() -> None:
    catalog(["JP", "TH", "GB"])
    response = Client().get("/destinations/suggest.json", {"q": "ri", "currency": "USD"})
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    body = response.json()
    assert body["results"][0] == {
        "kind": "country", "code": "JP", "name": "Japan", "url": "/destinations/JP/",
        "flag": "/static/flags/jp.gif", "icon": "", "from": "from $2.99"}
    chinese = Client(headers={"accept-language": "zh-hans"}).get(
        "/destinations/suggest.json", {"q": "日", "currency": "CNY"}).json()
    assert chinese["results"][0]["name"] == "日本"
    assert chinese["results"][0]["from"].startswith("¥") or "¥" in chinese["results"][0]["from"]
    assert Client().get("/destinations/suggest.json", {"q": ""}).json()["results"] == []
    assert Client().get("/destinations/suggest.json", {"q": "atlantis"}).json()["results"] == []
    regions = Client().get("/destinations/suggest.json", {"q": "asia"}).json()["results"]
    assert regions[0]["kind"] == "region" and regions[0]["url"] == "/regions/asia/"


def test_suggestions_are_cached_and_small(django_assert_max_num_queries: Any) -> None:
    catalog(MANY)
    client = Client()
    client.get("/destinations/suggest.json", {"q": "a"})
    with django_assert_max_num_queries(3):  # session + cache read
        body = client.get("/destinations/suggest.json", {"q": "a"}).json()
    assert len(body["results"]) <= 8


def test_plan_cards_show_price_per_gb_best_value_and_badges() -> None:
    RegionFactory(code="asia")
    plan(code="jp-day", data_gb=1, usd=299)
    plan(code="jp-big", unit="month", data_gb=30, usd=2999, network_5g=True, hotspot=True)
    page = Client().get("/destinations/JP/?currency=USD").content.decode()
    assert "$2.99 / GB" in page and "$1.00 / GB" in page
    best = page.index("Best value")
    assert page.index("jp-big") > best > page.index("jp-day")
    assert page.count("Best value") == 1
    assert '<span class="badge info">5G</span>' in page and "Hotspot" in page
    detail = Client().get("/plans/jp-big/?currency=USD").content.decode()
    assert "5G where available" in detail and "Share your data" in detail
    assert "$1.00 / GB" in detail and '<img class="flag flag-xl"' in detail
    assert "from the moment you buy it" in detail  # the builders' plans start at purchase


def test_destination_page_shows_family_plans() -> None:
    family, _team = make_group_plans()
    page = Client().get("/destinations/FR/?currency=USD").content.decode()
    assert "Family and group plans" in page and family.name_en in page
