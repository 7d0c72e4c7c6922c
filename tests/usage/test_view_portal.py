"""The traveller's pages: chart, forecast, live JSON, and the usage API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esimdesk.accounts.models import User
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Allowance
from tests.conftest import Api
from tests.usage.conftest import MB, NOW, add_usage, started_esim

H = dt.timedelta(hours=1)


def _client(user: User, language: str = "en") -> Client:
    user.language = language
    user.save()
    client = Client()
    client.cookies["esimdesk_language"] = language
    client.force_login(user)
    return client


def _burn(esim: Esim, events: int) -> None:
    Allowance.objects.filter(period__subscription__esim=esim, kind="data").update(
        used=events * MB)
    for i in range(events):
        add_usage(esim, NOW - H * (i % 40), MB)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_esim_page_shows_chart_and_forecast(user: User, esim: Esim, language: str) -> None:
    _burn(esim, 3)
    client = _client(user, language)
    html = client.get(f"/esims/{esim.iccid}/").content.decode()
    assert ('lang="zh-Hans"' in html) == (language == "zh-hans")
    assert '<svg class="usage-chart"' in html and 'role="img"' in html
    assert html.count('<rect class="bar"') == 48
    assert 'href="?range=30d"' in html
    assert "data-forecast" in html and f"/esims/{esim.iccid}/live.json" in html
    assert "portal/live.js" in html
    if language == "en":
        assert "At your recent rate, your data lasts until the plan ends" in html
    monthly = client.get(f"/esims/{esim.iccid}/?range=30d").content.decode()
    assert monthly.count('<rect class="bar"') == 30
    bogus = client.get(f"/esims/{esim.iccid}/?range=<x>").content.decode()
    assert bogus.count('<rect class="bar"') == 48


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_dashboard_shows_forecast_line(user: User, esim: Esim, language: str) -> None:
    Allowance.objects.filter(period__subscription__esim=esim, kind="data").update(
        total=100 * MB, used=76 * MB)
    add_usage(esim, NOW - H, 24 * MB)
    html = _client(user, language).get("/dashboard/").content.decode()
    assert f'data-live="/esims/{esim.iccid}/live.json"' in html
    assert "data-forecast" in html
    if language == "en":  # 24 MB left at 1 MB/h: a day from now, 22:30 UTC
        assert "At your recent rate, your data lasts until" in html
        assert "plan ends" not in html


@pytest.mark.django_db
def test_query_count_does_not_grow_with_events(user: User) -> None:
    few, many = started_esim(user), started_esim(user)
    _burn(few, 1)
    _burn(many, 120)
    client = _client(user)
    counts = []
    for esim in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/esims/{esim.iccid}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with CaptureQueriesContext(connection) as one:
        client.get("/dashboard/")
    started_esim(user)
    _burn(started_esim(user), 50)
    with CaptureQueriesContext(connection) as three:
        client.get("/dashboard/")
    assert len(one) == len(three)


@pytest.mark.django_db
def test_live_json_has_the_numbers_of_the_page(user: User, esim: Esim) -> None:
    _burn(esim, 4)
    client = _client(user)
    data = client.get(f"/esims/{esim.iccid}/live.json").json()
    data_allowance = data["allowances"][0]
    assert data_allowance["kind"] == "data"
    assert data_allowance["used"] == 4 * MB
    assert data_allowance["remaining"] == 10 * 1024 * MB - 4 * MB
    assert data_allowance["remaining_text"] == "10 GB"
    assert data["forecast_until"] and data["forecast_text"]
    stranger = User.objects.create_user("x@example.com", "correct-horse-battery-42")
    assert _client(stranger).get(f"/esims/{esim.iccid}/live.json").status_code == 404
    assert Client().get(f"/esims/{esim.iccid}/live.json").status_code == 302


@pytest.mark.django_db
def test_usage_api(db: None) -> None:
    api = Api.signup("apiuser@example.com")
    owner = User.objects.get(email="apiuser@example.com")
    esim = started_esim(owner)
    Allowance.objects.filter(period__subscription__esim=esim, kind="data").update(used=2 * MB)
    add_usage(esim, NOW - H, 2 * MB)
    answer = api.get(f"/api/v1/esims/{esim.iccid}/usage?granularity=hour&kind=data")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["kind"], body["unit"], body["granularity"]) == ("data", "bytes", "hour")
    assert len(body["points"]) == 48
    assert body["points"][-2] == {"start": "2026-06-10T21:00:00+00:00", "quantity": 2 * MB}
    assert body["remaining"] == 10 * 1024 * MB - 2 * MB
    assert body["forecast_until"] is not None
    daily = api.get(f"/api/v1/esims/{esim.iccid}/usage?granularity=day").json()
    assert len(daily["points"]) == 30 and daily["points"][-1]["quantity"] == 2 * MB

    bad = api.get(f"/api/v1/esims/{esim.iccid}/usage?granularity=week")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_granularity"
    assert api.get(f"/api/v1/esims/{esim.iccid}/usage?kind=fax").json()["code"] == \
        "invalid_kind"
    other = Api.signup("nosy@example.com")
    missing = other.get(f"/api/v1/esims/{esim.iccid}/usage")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_esim"
    assert Api(Client()).get(f"/api/v1/esims/{esim.iccid}/usage").status_code == 401
