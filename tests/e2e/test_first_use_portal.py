"""Validity that starts on arrival, through the portal: the checkout says when the days start,
the dashboard says the plan waits (in both languages), and *Start now* starts it — only for
its owner, and only once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Period
from tests.builders import bought_esim, period_of, plan

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)
WAITING = {"en": ("Starts when you arrive", "Start now", "Starts on arrival"),
           "zh-hans": ("抵达后开始计时", "立即开始", "抵达后生效")}
NOT_INSTALLED = {"en": "Not installed yet", "zh-hans": "尚未安装"}


def client_of(user: User, language: str = "en") -> Client:
    client = Client()
    client.cookies["esimdesk_language"] = language
    client.force_login(user)
    return client


@pytest.fixture
def travel_plan() -> Plan:
    return plan(code="th-30-days", unit="day", count=30, data_gb=8, usd=1500,
                countries=["TH"], validity_starts=Plan.ValidityStarts.FIRST_USE)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_checkout_and_the_dashboard_say_it_waits(travel_plan: Plan, language: str) -> None:
    clock.set_now(T0)
    traveller = User.objects.create_user(f"tia-{language}@example.com", "pw-12345-long",
                                         language=language)
    checkout = client_of(traveller, language).get(f"/checkout/?plan={travel_plan.code}")
    assert checkout.status_code == 200
    words = {"en": "from the moment your eSIM first connects in the destination",
             "zh-hans": "自 eSIM 在目的地首次连网起"}[language]
    assert words in checkout.content.decode()

    esim = bought_esim(traveller, travel_plan)
    for page in ("/dashboard/", f"/esims/{esim.iccid}/"):
        html = client_of(traveller, language).get(page).content.decode()
        for text in WAITING[language][:2]:
            assert text in html, (page, text)
    dashboard = client_of(traveller, language).get("/dashboard/").content.decode()
    # one status per eSIM: not installed yet comes before starts on arrival
    assert NOT_INSTALLED[language] in dashboard and WAITING[language][2] not in dashboard
    Esim.objects.filter(pk=esim.pk).update(status=Esim.Status.INSTALLED)
    dashboard = client_of(traveller, language).get("/dashboard/").content.decode()
    assert WAITING[language][2] in dashboard and NOT_INSTALLED[language] not in dashboard


def test_start_now_starts_it_for_its_owner_once(travel_plan: Plan) -> None:
    clock.set_now(T0)
    traveller = User.objects.create_user("tom@example.com", "pw-12345-long")
    stranger = User.objects.create_user("sly@example.com", "pw-12345-long")
    esim = bought_esim(traveller, travel_plan)
    clock.set_now(T0 + dt.timedelta(days=3))

    assert client_of(stranger).post(f"/esims/{esim.iccid}/start/").status_code == 404
    assert period_of(esim).state == Period.State.PENDING
    assert client_of(traveller).get(f"/esims/{esim.iccid}/start/").status_code == 405

    owner = client_of(traveller)
    response = owner.post(f"/esims/{esim.iccid}/start/", follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your plan has started" in html and "Start now" not in html
    period = period_of(esim)
    assert (period.state, period.starts_at) == (Period.State.ACTIVE, T0 + dt.timedelta(days=3))
    assert period.ends_at == T0 + dt.timedelta(days=33)

    again = owner.post(f"/esims/{esim.iccid}/start/", follow=True)
    assert "no plan waiting to start" in again.content.decode()
    assert period_of(esim).starts_at == T0 + dt.timedelta(days=3)
