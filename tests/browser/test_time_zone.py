"""The browser reports its time zone on the first page (portal/time_zone.js): a visitor in
Paris then sees prices in euros, and a signed-in user still on UTC gets Paris saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from tests import builders
from tests.browser.conftest import PHONE, base_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_browser_reports_its_zone(browser: Any, live_server: Any) -> None:
    base = base_url(live_server)
    builders.plan(countries=("JP",))
    context = browser.new_context(timezone_id="Europe/Paris", locale="en-US", viewport=PHONE)
    page = context.new_page()
    with page.expect_response("**/account/time-zone/") as reported:
        page.goto(f"{base}/")
    assert reported.value.status == 200 and reported.value.json()["saved"] is False
    page.goto(f"{base}/destinations/JP/")
    assert page.locator("#currency").input_value() == "EUR"

    user = User.objects.create_user("utc@example.com", "x-long-password-1")
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": base}])
    with page.expect_response("**/account/time-zone/") as again:
        page.goto(f"{base}/dashboard/")
    assert again.value.json()["saved"] is True
    user.refresh_from_db()
    assert user.time_zone == "Europe/Paris"
