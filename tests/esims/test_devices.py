"""Device eSIM compatibility: the lookup table, User-Agents, EIDs, the API and the page."""

from __future__ import annotations

import pytest
from django.test import Client

from esimdesk.core.ids import eid_with_check_digits
from esimdesk.esims import devices
from tests.builders import MONTH, Shop

S, N, D, U = devices.SUPPORTED, devices.NOT_SUPPORTED, devices.DEPENDS, devices.UNKNOWN

CASES = [
    # (typed model, region, verdict, matched model or None)
    ("iphone 15 pro max", "", D, "iPhone 15 Pro Max"),
    ("iPhone 15 Pro Max", "FR", S, "iPhone 15 Pro Max"),
    ("IPHONE15PROMAX", "CN", N, "iPhone 15 Pro Max"),
    ("iPhone 15 Pro Max 256GB", "US", S, "iPhone 15 Pro Max"),
    ("A2848", "US", S, "iPhone 15 Pro"),
    ("A3108", "", N, "iPhone 15 Pro Max"),
    ("Apple iPhone 14", "GB", S, "iPhone 14"),
    ("iphone 14", "HK", N, "iPhone 14"),
    ("iPhone 13 mini", "HK", S, "iPhone 13 mini"),
    ("iPhone 13 mini", "CN", N, "iPhone 13 mini"),
    ("iPhone XS", "MO", S, "iPhone XS"),
    ("iPhone XR", "", D, "iPhone XR"),
    ("iPhone SE 2022", "JP", S, "iPhone SE (3rd generation)"),
    ("iPhone Air", "CN", S, "iPhone Air"),
    ("iPhone X", "", N, "iPhone X"),
    ("iphone 8 plus", "", N, "iPhone 8"),
    ("iPad Pro 11", "DE", S, "iPad Pro 11-inch"),
    ("iPad 6", "", N, "iPad (6th generation)"),
    ("Apple Watch Ultra 2", "", D, "Apple Watch Ultra"),
    ("Galaxy S23", "", D, "Galaxy S23"),
    ("samsung galaxy s23", "DE", S, "Galaxy S23"),
    ("SM-S911B", "", S, "Galaxy S23"),
    ("sm-s911b/ds", "", S, "Galaxy S23"),
    ("SM-S9110", "", N, "Galaxy S23"),
    ("SM-G981U1", "", N, "Galaxy S20"),
    ("SM-G981B", "", S, "Galaxy S20"),
    ("Galaxy S20", "KR", N, "Galaxy S20"),
    ("Galaxy S24+", "IT", S, "Galaxy S24+"),
    ("galaxy s24 plus", "IT", S, "Galaxy S24+"),
    ("Galaxy S23 Ultra 5G", "FR", S, "Galaxy S23 Ultra"),
    ("Galaxy Z Fold 5", "FR", S, "Galaxy Z Fold5"),
    ("Galaxy Z Flip4", "KR", S, "Galaxy Z Flip4"),
    ("Galaxy S10", "", N, "Galaxy S10"),
    ("SM-G973F", "", N, "Galaxy S10"),
    ("Pixel 8", "", S, "Pixel 8"),
    ("google pixel 7 pro", "", S, "Pixel 7 Pro"),
    ("Pixel 4a 5G", "", S, "Pixel 4a (5G)"),
    ("Pixel 3", "", D, "Pixel 3"),
    ("Pixel 3", "JP", N, "Pixel 3"),
    ("Pixel 3a", "US", S, "Pixel 3a"),
    ("Pixel 2", "", N, "Pixel 2"),
    ("Huawei P40 Pro", "CN", N, "P40 Pro"),
    ("Huawei P40 Pro", "AE", S, "P40 Pro"),
    ("Mate 40 Pro", "", D, "Mate 40 Pro"),
    ("Xiaomi 13", "ES", S, "Xiaomi 13"),
    ("OPPO Find X5 Pro", "GB", S, "Find X5 Pro"),
    ("motorola razr 40 ultra", "", S, "razr 40 ultra"),
    ("razr+ 2023", "", S, "razr 40 ultra"),
    ("Sony Xperia 1 IV", "", S, "Xperia 1 IV"),
    ("Fairphone 5", "", S, "Fairphone 5"),
    ("Nokia 3310", "", U, None),
    ("iPhone 99", "", U, None),
    ("   ", "", U, None),
]


@pytest.mark.parametrize(("model", "region", "verdict", "matched"), CASES)
def test_model_lookup(model: str, region: str, verdict: str, matched: str | None) -> None:
    result = devices.check_model(model, region)
    assert result.verdict == verdict
    assert (result.device.model if result.device else None) == matched
    assert result.notes


def test_list_is_large_and_well_formed() -> None:
    listed = devices.devices()
    assert len(listed) >= 80
    for device in listed:
        assert device.kind in {"phone", "tablet", "watch"}
        for code in [device.note, *device.exceptions.values()]:
            assert not code or code in devices.NOTES, (device.model, code)


def test_supported_reminds_about_carrier_lock() -> None:
    notes = devices.check_model("Pixel 8").notes
    assert str(devices.NOTES["unlocked"]) in notes


@pytest.mark.parametrize(("user_agent", "verdict", "model"), [
    ("Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0 Mobile Safari/537.36", S, "Galaxy S23"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041) AppleWebKit/537.36",
     S, "Pixel 8"),
    ("Mozilla/5.0 (Linux; U; Android 10; en-us; SM-G973F Build/QP1A) AppleWebKit", N,
     "Galaxy S10"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
     "Version/17.4 Mobile/15E148 Safari/604.1", D, "iPhone"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/120 Mobile", U, None),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120", U, None),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15", U, None),
])
def test_user_agent_lookup(user_agent: str, verdict: str, model: str | None) -> None:
    result = devices.check_user_agent(user_agent)
    assert result.verdict == verdict
    assert (result.device.model if result.device else None) == model


def test_eid_validation() -> None:
    eid = eid_with_check_digits("890490320000000000000000000000")
    assert devices.is_valid_eid(eid)
    assert devices.is_valid_eid(f"{eid[:16]} {eid[16:]}")
    assert not devices.is_valid_eid(eid[:-1] + str((int(eid[-1]) + 1) % 10))
    assert not devices.is_valid_eid("12345")


API = "/api/v1/devices/compatibility"


def test_api_by_model_with_eid(client: Client) -> None:
    eid = eid_with_check_digits("890490320000000000000000000123")
    body = client.get(API, {"model": "SM-S911B", "eid": eid}).json()
    assert body["verdict"] == "supported"
    assert body["device"] == {"brand": "Samsung", "model": "Galaxy S23", "kind": "phone"}
    assert body["eid_valid"] is True
    assert body["notes"]
    assert client.get(API, {"model": "Pixel 8", "eid": "1" * 32}).json()["eid_valid"] is False
    assert client.get(API, {"model": "Pixel 8"}).json()["eid_valid"] is None


def test_api_by_user_agent_and_region(client: Client) -> None:
    body = client.get(API, {"user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0)"}).json()
    assert body["verdict"] == "depends"
    assert body["device"]["model"] == "iPhone"
    assert client.get(API, {"model": "iPhone 15", "region": "cn"}).json()["verdict"] == \
        "not_supported"
    assert client.get(API, {"model": "no such phone"}).json() == {
        "verdict": "unknown", "device": None,
        "notes": [str(devices.NOTES["unknown"])], "eid_valid": None}


@pytest.mark.parametrize(("params", "code"), [
    ({}, "model_required"),
    ({"region": "CN"}, "model_required"),
    ({"model": "Pixel 8", "region": "China"}, "invalid_region"),
])
def test_api_refusals(client: Client, params: dict[str, str], code: str) -> None:
    for language in ("en", "zh-hans"):
        response = client.get(API, params, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 422
        assert response.json()["code"] == code
        assert response.json()["message"]


def test_api_is_in_openapi(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/devices/compatibility"]["get"]
    assert "security" not in operation
    assert "model_required" in operation["description"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_portal_page_in_both_languages(language: str) -> None:
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit")
    client.cookies["esimdesk_language"] = language
    first = client.get("/devices/check/")
    assert first.status_code == 200
    page = first.content.decode()
    assert "Pixel 8" in page
    assert 'name="model"' in page
    assert 'lang="zh-Hans"' in page if language == "zh-hans" else 'lang="en"' in page
    typed = client.get("/devices/check/", {"model": "iPhone 15", "region": "CN"}).content
    assert b"iPhone 15" in typed
    assert b'value="CN" selected' in typed
    odd = client.get("/devices/check/", {"model": "x", "region": "<b>"})
    assert odd.status_code == 200


@pytest.mark.django_db
def test_plan_page_links_to_device_check(shop: Shop) -> None:
    page = Client().get(f"/plans/{MONTH}/?currency=CNY").content.decode()
    assert "/devices/check/" in page
