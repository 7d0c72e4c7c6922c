"""A new visitor gets their language from the browser, a currency from their language or
country, and times in the zone their browser reports (static portal/time_zone.js posting to
/account/time-zone/); a signed-in user whose zone is unset (UTC) gets it saved; sign-up
starts the account with it. The account page's picker groups zones by country."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from tests import builders

PASSWORD = "x-long-password-1"
URL = "/account/time-zone/"
PRICES = "/destinations/JP/"


def _report(client: Client, body: Any, content_type: str = "application/json") -> Any:
    data = json.dumps(body) if not isinstance(body, (str, bytes)) else body
    return client.post(URL, data, content_type=content_type)


@pytest.mark.django_db
@pytest.mark.parametrize(("header", "lang"), [
    ("zh-CN,zh;q=0.9", "zh-Hans"), ("zh-TW", "zh-Hans"), ("zh", "zh-Hans"),
    ("zh-Hans", "zh-Hans"), ("en-GB,en;q=0.8", "en"), ("de-DE", "en")])
def test_language_from_the_browser(header: str, lang: str) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE=header).get("/").content.decode()
    assert f'<html lang="{lang}">' in page


@pytest.mark.django_db
@pytest.mark.parametrize(("header", "currency"), [
    ("zh-CN,zh;q=0.9", "CNY"), ("de-DE,de;q=0.9", "EUR"), ("fr-FR", "EUR"),
    ("en-US", "USD"), ("en-GB", "USD")])  # GBP is not sold: USD
def test_a_new_visitors_currency_from_language_and_country(header: str, currency: str) -> None:
    builders.plan(countries=("JP",))
    page = Client(HTTP_ACCEPT_LANGUAGE=header).get(PRICES).content.decode()
    assert re.search(rf'<option value="{currency}" selected>', page), currency


@pytest.mark.django_db
def test_the_reported_zone_is_kept_for_the_visit() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    response = _report(client, {"time_zone": "Europe/Paris"})
    assert response.status_code == 200
    assert response.json() == {"time_zone": "Europe/Paris", "saved": False}
    assert client.session["time_zone"] == "Europe/Paris"
    # France's currency among those sold, although the browser speaks American English.
    builders.plan(countries=("JP",))
    page = client.get(PRICES).content.decode()
    assert '<option value="EUR" selected>' in page


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "content_type", "code"), [
    ({"time_zone": "Mars/Base"}, "application/json", "invalid_time_zone"),
    ({"time_zone": "../../etc/passwd"}, "application/json", "invalid_time_zone"),
    ({"time_zone": 5}, "application/json", "invalid_time_zone"),
    ({}, "application/json", "invalid_time_zone"),
    (["Europe/Paris"], "application/json", "invalid_time_zone"),
    ("{not json", "application/json", "invalid_json"),
    ("time_zone=Europe/Paris", "application/x-www-form-urlencoded", "json_required"),
])
def test_a_bad_zone_is_refused_with_a_code(body: Any, content_type: str, code: str) -> None:
    client = Client()
    response = _report(client, body, content_type)
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]
    assert "time_zone" not in client.session


@pytest.mark.django_db
def test_only_post() -> None:
    assert Client().get(URL).status_code == 405


@pytest.mark.django_db
def test_a_signed_in_user_without_a_zone_gets_the_reported_one_saved() -> None:
    unset = User.objects.create_user("unset@example.com", PASSWORD)  # UTC by default
    chosen = User.objects.create_user("chosen@example.com", PASSWORD, time_zone="Asia/Tokyo")
    for user, saved, stored in ((unset, True, "Europe/London"), (chosen, False, "Asia/Tokyo")):
        client = Client()
        client.force_login(user)
        assert _report(client, {"time_zone": "Europe/London"}).json()["saved"] is saved
        user.refresh_from_db()
        assert user.time_zone == stored


@pytest.mark.django_db
def test_sign_up_starts_with_the_reported_zone_and_a_guessed_currency() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    _report(client, {"time_zone": "Europe/Berlin"})
    response = client.post("/accounts/signup/", {"email": "neu@example.com",
                                                 "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(email="neu@example.com")
    assert (user.time_zone, user.preferred_currency) == ("Europe/Berlin", "EUR")


@pytest.mark.django_db
def test_a_visitor_sees_times_in_the_reported_zone() -> None:
    user = User.objects.create_user("t@example.com", PASSWORD, time_zone="UTC")
    client = Client(HTTP_ACCEPT_LANGUAGE="en-GB")
    _report(client, {"time_zone": "Asia/Tokyo"})
    # The session keeps the zone across sign-in; the user's UTC was then replaced by it.
    client.force_login(user)
    _report(client, {"time_zone": "Asia/Tokyo"})
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"


@pytest.mark.django_db
def test_the_account_page_picker_groups_zones_by_country() -> None:
    builders.plan(countries=("JP",))
    user = User.objects.create_user("p@example.com", PASSWORD, time_zone="Europe/London")
    client = Client()
    client.force_login(user)
    page = client.get("/account/").content.decode()
    assert '<optgroup label="Your time zone">' in page
    assert re.search(r'<option value="Europe/London" selected>United Kingdom — London time '
                     r"\(GMT\+0\)</option>", page)
    assert '<optgroup label="Where our plans work">' in page
    assert "Japan — Tokyo time (GMT+9)" in page
    assert '<optgroup label="Germany">' in page and "Berlin time (GMT+1)" in page
    assert ">Europe/London<" not in page and ">America/New_York<" not in page
    response = client.post("/account/", {"name": "Pat", "language": "en",
                                         "time_zone": "America/New_York",
                                         "preferred_currency": "USD"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "America/New_York"
    assert client.post("/account/", {"name": "Pat", "language": "en", "time_zone": "Mars/Base",
                                     "preferred_currency": "USD"}).status_code == 200


@pytest.mark.django_db
def test_the_picker_in_chinese() -> None:
    user = User.objects.create_user("zh@example.com", PASSWORD, time_zone="Asia/Shanghai",
                                    language="zh-hans")
    client = Client()
    client.force_login(user)
    page = client.get("/account/").content.decode()
    assert '<optgroup label="您的时区">' in page
    assert "中国 — 上海时间（GMT+8）" in page
