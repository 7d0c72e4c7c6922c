from __future__ import annotations

import pytest
from django.test import Client

from tests.builders import DAY, Shop, plan, regional_plan


@pytest.mark.django_db
def test_a_country_lists_its_own_regional_and_global_plans(shop: Shop) -> None:
    asia = regional_plan("asia", countries=("JP", "TH", "KR"), usd=2999, data_gb=20)
    everywhere = regional_plan("global", countries=("JP", "FR", "US"), usd=3999, data_gb=10)
    regional_plan("europe", countries=("FR", "DE"), usd=2799, data_gb=20)  # not in Japan
    plan(countries=("TH",), unit="month", usd=1299, data_gb=10)  # another country's own
    body = Client().get("/api/v1/plans?country=jp&currency=HKD").json()
    coverages = {item["coverage"] for item in body["items"]}
    assert coverages == {"country", "region", "global"}
    assert all(item["price"]["currency"] == "HKD" for item in body["items"])
    assert all("JP" in item["countries"] for item in body["items"])
    assert {item["code"] for item in body["items"]} == {
        shop.day.code, shop.month.code, shop.calls.code, shop.year.code, asia.code,
        everywhere.code}


@pytest.mark.django_db
def test_filters_and_chinese_names(shop: Shop) -> None:
    regional_plan("europe", usd=2799, data_gb=20)
    regional_plan("europe", unit="day", usd=499, data_gb=1)
    client = Client()
    monthly = client.get("/api/v1/plans?region=europe&period=month").json()
    assert monthly["items"] and all(i["validity"]["unit"] == "month" for i in monthly["items"])
    assert all(i["coverage"] == "region" for i in monthly["items"])
    zh = client.get(f"/api/v1/plans/{DAY}", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert zh["name"] == "日本 每日 1 GB"
    assert zh["validity"]["label"] == "1 天"
    bad = client.get("/api/v1/plans?period=week")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    wrong_currency = client.get(f"/api/v1/plans/{DAY}?currency=JPY")
    assert wrong_currency.json()["code"] == "currency_not_available"


@pytest.mark.django_db
def test_the_api_says_whether_a_plan_has_5g_and_a_hotspot() -> None:
    fast = plan(code="jp-fast", network_5g=True, hotspot=True)
    plan(code="jp-plain")
    body = Client().get("/api/v1/plans?country=JP").json()
    flags = {item["code"]: (item["network_5g"], item["hotspot"]) for item in body["items"]}
    assert flags == {"jp-fast": (True, True), "jp-plain": (False, False)}
    assert Client().get(f"/api/v1/plans/{fast.code}").json()["network_5g"] is True
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]["PlanOut"]
    assert "5G" in schema["properties"]["network_5g"]["description"]
    assert "hotspot" in schema["properties"]["hotspot"]["description"]
