"""In-app notices on the dashboard, the history page, the preferences form, and the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.notifications import services
from esimdesk.notifications.models import Notification, NotificationPreference
from tests.conftest import Api
from tests.notifications.conftest import context


def remind(user: User, key: str, kind: str = "reminder_expiry") -> dict[str, Notification]:
    return {n.channel: n for n in services.notify(
        user=user, kind=kind, template="test_notice", context=context(), dedupe_key=key)}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# -- portal ----------------------------------------------------------------------------------

def test_a_notice_shows_on_the_dashboard_until_marked_read(
        make_user: Callable[..., User]) -> None:
    user = make_user()
    notice = remind(user, "r-1")["inapp"]
    client = signed_in(user)
    page = client.get("/dashboard/").content.decode()
    assert "Notices" in page and "Renew Japan eSIM: 00:00" in page
    assert f"/account/notifications/{notice.pk}/read/" in page
    response = client.post(f"/account/notifications/{notice.pk}/read/", {"next": "/dashboard/"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert "Renew Japan eSIM: 00:00" not in client.get("/dashboard/").content.decode()


def test_mark_all_read_and_no_open_redirect(make_user: Callable[..., User]) -> None:
    user = make_user()
    remind(user, "r-1")
    remind(user, "r-2")
    response = signed_in(user).post("/account/notifications/read/",
                                    {"next": "https://evil.example/"})
    assert response["Location"] == "/account/notifications/"
    assert not Notification.objects.filter(channel="inapp", read_at__isnull=True).exists()


def test_someone_elses_notice_cannot_be_marked_read(make_user: Callable[..., User]) -> None:
    theirs = remind(make_user(), "r-1")["inapp"]
    me = make_user("me@example.com", phone=None)
    assert signed_in(me).post(f"/account/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_history_lists_every_channel_newest_first_in_the_users_time_zone(
        make_user: Callable[..., User]) -> None:
    user = make_user(time_zone="Asia/Shanghai")
    clock.set_now(dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.UTC))
    remind(user, "old")
    clock.set_now(dt.datetime(2026, 3, 2, 18, 5, tzinfo=dt.UTC))
    services.notify(user=user, kind="renewal_upcoming", template="test_bare",
                    context=context(), dedupe_key="new")
    remind(make_user("other@example.com", phone=None), "theirs")
    page = signed_in(user).get("/account/notifications/").content.decode()
    first, second = "Mar 1, 2026, 8:30 AM", "Mar 3, 2026, 2:05 AM"  # Shanghai time
    assert first in page and second in page and "Shanghai time" in page
    assert page.index(second) < page.index(first)
    for channel in ("E-mail", "SMS", "In-app notice"):
        assert channel in page
    assert page.count("<tr>") == 1 + 6  # header + 3 channels x 2 messages, none of theirs


def test_one_time_codes_are_not_shown_again(make_user: Callable[..., User]) -> None:
    user = make_user()
    services.send_sms(to=user.phone, body="Your esimdesk code is 482913.", kind="account_code",
                      user=user)
    page = signed_in(user).get("/account/notifications/").content.decode()
    assert "482913" not in page
    assert "not shown again" in page


def test_preferences_form_works_without_javascript(make_user: Callable[..., User]) -> None:
    user = make_user()
    client = signed_in(user)
    account = client.get("/account/").content.decode()
    assert 'href="/account/notifications/"' in account
    page = client.get("/account/notifications/").content.decode()
    assert 'type="checkbox" name="sms"' in page and "always sent" in page
    # Unticked boxes are simply absent from a form post.
    response = client.post("/account/notifications/", {"email": "on", "renewals": "on"})
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=user)
    assert (preference.email, preference.sms, preference.inapp, preference.reminders,
            preference.renewals) == (True, False, False, False, True)
    assert remind(user, "after") == {}


def test_history_needs_sign_in(db: Any) -> None:
    response = Client().get("/account/notifications/")
    assert response.status_code == 302 and "login" in response["Location"]


# -- API -------------------------------------------------------------------------------------

@pytest.fixture
def api_user(api: Api) -> User:
    return User.objects.get(email="alex@example.com")


def test_api_preferences_get_and_patch(api: Api, api_user: User) -> None:
    body = api.get("/api/v1/notifications/preferences").json()
    assert body == {"email": True, "sms": True, "inapp": True, "reminders": True,
                    "renewals": True, "always_sent_by": "email"}
    response = api.patch("/api/v1/notifications/preferences", {"sms": False, "reminders": False})
    assert response.status_code == 200
    assert response.json()["sms"] is False and response.json()["reminders"] is False
    assert response.json()["email"] is True
    bad = api.patch("/api/v1/notifications/preferences", {"sms": "maybe"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


def test_api_history_is_paginated_and_only_the_customers_own(
        api: Api, other_api: Api, api_user: User) -> None:
    for index in range(8):  # the user has no phone: e-mail and in-app, 2 each
        clock.advance(dt.timedelta(minutes=1))
        remind(api_user, f"r-{index}")
    remind(User.objects.get(email="sam@example.com"), "theirs")
    body = api.get("/api/v1/notifications?page=1").json()
    assert body["count"] == 17 and len(body["items"]) == 17  # and the sign-up confirmation
    first = body["items"][0]
    assert set(first) == {"id", "channel", "kind", "subject", "text", "status", "created_at",
                          "read_at"}
    assert [i["created_at"] for i in body["items"]] == sorted(
        (i["created_at"] for i in body["items"]), reverse=True)
    signup = body["items"][-1]
    assert signup["kind"].startswith("account:") and "not shown again" in signup["text"]
    assert {i["kind"] for i in body["items"][:-1]} == {"reminder_expiry"}
    assert api.get("/api/v1/notifications?page=2").json()["items"] == []
    unread = api.get("/api/v1/notifications?channel=inapp&unread=true").json()
    assert unread["count"] == 8
    assert unread["items"][0]["text"] == "Renew Japan eSIM: 00:00"
    assert api.get("/api/v1/notifications?channel=fax").status_code == 422


def test_api_mark_read_and_someone_elses_is_404(api: Api, other_api: Api,
                                                api_user: User) -> None:
    mine = remind(api_user, "mine")["inapp"]
    theirs = remind(User.objects.get(email="sam@example.com"), "theirs")["inapp"]
    response = api.post(f"/api/v1/notifications/{mine.pk}/read")
    assert response.status_code == 200 and response.json()["read_at"] is not None
    assert api.get("/api/v1/notifications?unread=true&channel=inapp").json()["count"] == 0
    refused = api.post(f"/api/v1/notifications/{theirs.pk}/read")
    assert refused.status_code == 404
    assert set(refused.json()) == {"code", "message", "detail"}
    assert refused.json()["code"] == "unknown_notification"
    missing = api.post("/api/v1/notifications/999999/read")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_notification"


def test_api_needs_a_session(db: None) -> None:
    response = Api(Client()).get("/api/v1/notifications")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
