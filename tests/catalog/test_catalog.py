from __future__ import annotations

import pytest
from django.test import Client

from esimdesk.catalog.models import Country, Plan, Price, Region


@pytest.mark.django_db
def test_demo_catalog_has_what_travellers_need(catalog: None) -> None:
    assert Country.objects.count() >= 30
    assert set(Region.objects.values_list("code", flat=True)) >= {"asia", "europe",
                                                                   "americas", "global"}
    assert {"day", "month", "year"} <= set(Plan.objects.values_list("validity_unit", flat=True))
    assert Plan.objects.filter(voice_seconds__gt=0, sms_count__gt=0).exists()
    for plan in Plan.objects.prefetch_related("prices"):
        assert {p.currency for p in plan.prices.all()} == {"CNY", "USD", "EUR", "HKD"}
        assert plan.name_zh_hans and plan.description_zh_hans and plan.name_en
    assert not Price.objects.filter(amount__lte=0).exists()


@pytest.mark.django_db
def test_a_country_lists_its_own_regional_and_global_plans(catalog: None) -> None:
    body = Client().get("/api/v1/plans?country=jp&currency=HKD").json()
    coverages = {item["coverage"] for item in body["items"]}
    assert coverages == {"country", "region", "global"}
    assert all(item["price"]["currency"] == "HKD" for item in body["items"])
    assert all("JP" in item["countries"] for item in body["items"])


@pytest.mark.django_db
def test_filters_and_chinese_names(catalog: None) -> None:
    client = Client()
    monthly = client.get("/api/v1/plans?region=europe&period=month").json()
    assert monthly["items"] and all(i["validity"]["unit"] == "month" for i in monthly["items"])
    zh = client.get("/api/v1/plans/jp-1gb-day", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert zh["name"] == "日本 每日 1 GB"
    assert zh["validity"]["label"] == "1 天"
    bad = client.get("/api/v1/plans?period=week")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    wrong_currency = client.get("/api/v1/plans/jp-1gb-day?currency=JPY")
    assert wrong_currency.json()["code"] == "currency_not_available"


def test_converted_prices_are_price_points() -> None:
    from esimdesk.catalog.demo import converted

    assert converted(1299, "EUR") % 100 == 99
    assert converted(1299, "CNY") % 1000 in (0, 900)
    assert converted(1299, "HKD") % 100 == 0
