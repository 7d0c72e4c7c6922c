"""The dashboard answers "am I OK?" per eSIM: where it is for, one status, the data gauge,
the time covered (current and queued plans back to back) and what comes next; the eSIM
page folds the install block once installed and its chart counts what the balance counts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB, MB, Plan
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from tests.builders import in_use, make_esim, plan, regional_plan, renewal_queued, used_data
from tests.builders import user as new_user

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def client_of(owner: User, language: str = "en") -> Client:
    client = Client()
    client.cookies["esimdesk_language"] = language
    client.force_login(owner)
    return client


def japan(**fields: object) -> Plan:
    return plan(unit="day", count=7, data_gb=5, countries=("JP",), **fields)


def test_a_card_names_the_destination_and_shows_one_status_and_the_gauge() -> None:
    owner = new_user("card@example.com")
    esim = in_use(make_esim(owner, plan=japan(), starts=T0))
    used_data(esim, (T0 + dt.timedelta(hours=5), 2 * GB - 200 * MB))
    clock.set_now(T0 + DAY)
    html = client_of(owner).get("/dashboard/").content.decode()
    assert re.search(r'<h2 id="esim-\d+"><a href="/esims/\d+/">Japan</a>', html)
    assert f"eSIM …{esim.iccid[-4:]}" in html
    assert 'aria-label="3.2 GB left of 5 GB"' in html
    assert ">Active<" in html and "Ready to install" not in html and "In use" not in html
    assert "6 days left" in html


def test_after_a_renewal_the_card_counts_the_whole_time_covered() -> None:
    owner = new_user("renewed@example.com")
    esim = in_use(make_esim(owner, plan=japan(), starts=T0))
    clock.set_now(T0 + 6 * DAY + dt.timedelta(hours=1))
    before = client_of(owner).get("/dashboard/").content.decode()
    assert "23 hours left" in before and "Expiring soon" in before
    renewal_queued(esim, plan(unit="day", count=15, data_gb=10, countries=("JP",),
                              name_en="Japan 10 GB"))
    html = client_of(owner).get("/dashboard/").content.decode()
    assert "15 days left" in html and "23 hours left" not in html
    assert "Covered until Dec 23" in html  # the one formatter: en-US, day and month
    assert "Then: Japan 10 GB" in html
    assert ">Active<" in html and "Expiring soon" not in html


def test_waiting_for_first_use_not_installed_and_expired() -> None:
    owner = new_user("three@example.com")
    clock.set_now(T0)
    waiting = make_esim(owner, plan=japan(validity_starts=Plan.ValidityStarts.FIRST_USE))
    fresh = make_esim(owner, plan=regional_plan("europe", data_gb=3, name_en="Europe 3 GB"))
    old = in_use(make_esim(owner, plan=japan(), starts=T0 - 30 * DAY))
    clock.set_now(T0)
    assert old.status == Esim.Status.IN_USE
    html = client_of(owner).get("/dashboard/").content.decode()
    assert html.count('class="card esim-card') == 3
    # the eSIM not installed yet comes first, then the one waiting, the expired one last
    order = re.findall(r"status-(\w+)", html)
    assert order == ["install", "install", "expired"]
    assert "Starts when you arrive" in html and "Not installed yet" in html
    assert "Europe</a></h2>" in html and "3 countries · eSIM …" in html
    assert "Expired" in html
    assert f'/esims/{fresh.iccid}/#install' in html and f'/esims/{waiting.iccid}/#install' in html
    in_use(waiting)
    html = client_of(owner).get("/dashboard/").content.decode()
    assert "Starts on arrival" in html


def test_the_dashboard_costs_the_same_queries_for_one_or_many_esims() -> None:
    owner = new_user("many@example.com")
    clock.set_now(T0)
    make_esim(owner, plan=japan())
    client = client_of(owner)
    client.get("/dashboard/")
    with CaptureQueriesContext(connection) as one:
        client.get("/dashboard/")
    for _ in range(3):
        esim = make_esim(owner, plan=regional_plan(f"r{_}"))
        renewal_queued(esim, japan())
    with CaptureQueriesContext(connection) as four:
        assert client.get("/dashboard/").content.decode().count('class="card esim-card') == 4
    assert len(four) == len(one)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_install_block_is_open_until_the_esim_is_installed(language: str) -> None:
    owner = new_user(f"install-{language}@example.com")
    clock.set_now(T0)
    esim = make_esim(owner, plan=japan())
    html = client_of(owner, language).get(f"/esims/{esim.iccid}/").content.decode()
    assert '<details class="install" open>' in html
    # copy buttons: hidden without JavaScript (the text stays selectable), a status line
    assert html.count("data-copy=") == 3 and 'data-copy="LPA:1$smdp.example.com$' in html
    assert 'role="status" aria-live="polite" data-copy-status' in html
    assert "portal/copy.js" in html and "portal/dashboard.css" in html
    in_use(esim)
    html = client_of(owner, language).get(f"/esims/{esim.iccid}/").content.decode()
    assert '<details class="install">' in html


def test_the_chart_counts_what_the_balance_counts() -> None:
    owner = new_user("chart@example.com")
    clock.set_now(T0)
    esim = in_use(make_esim(owner, plan=plan(unit="day", count=2, data_gb=5), starts=T0))
    used_data(esim, (T0 + dt.timedelta(hours=2), 700 * MB))
    renewal_queued(esim, plan(unit="day", count=2, data_gb=5))
    clock.set_now(T0 + 2 * DAY + dt.timedelta(hours=3))  # the renewal runs now
    html = client_of(owner).get(f"/esims/{esim.iccid}/").content.decode()
    # nothing used in this plan yet: the plan before it is not counted
    assert "No data used yet" in html and '<svg class="usage-chart"' not in html
    used_data(esim, (T0 + 2 * DAY + dt.timedelta(hours=1), 1536 * MB),
              (T0 + 2 * DAY + dt.timedelta(hours=2), 512 * MB))
    html = client_of(owner).get(f"/esims/{esim.iccid}/").content.decode()
    assert "Used in this plan: 2 GB of 5 GB" in html
    assert "Total: 2 GB." in html  # the chart's own total, in the same words
    assert 'aria-label="3 GB left of 5 GB"' in html
