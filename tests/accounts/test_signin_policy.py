"""One sign-in policy at every door: the portal's page, the headless API (app and browser
clients), the staff console, password resets and codes; per account and per address; the
same answer everywhere; counts every process shares."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from esimdesk.accounts import counters, lockout, signin_policy
from esimdesk.accounts.models import User
from esimdesk.core import clock
from tests.conftest import verified_email

PASSWORD = "correct-horse-battery-42"
REFUSED = "Too many attempts. Please try again later."


def _user(email: str = "li@example.com", **extra: Any) -> User:
    user = User.objects.create_user(email, PASSWORD, **extra)
    verified_email(user)
    return user


def api_login(login: str, password: str, *, client: str = "app",
              address: str = "127.0.0.1") -> Any:
    field = "email" if "@" in login else "phone"
    return Client(REMOTE_ADDR=address).post(
        f"/_allauth/{client}/v1/auth/login", data=json.dumps({field: login,
                                                               "password": password}),
        content_type="application/json")


def page_login(client: Client, login: str, password: str, next_url: str = "") -> Any:
    path = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(path, {"login": login, "password": password})


def test_the_limits_read_and_refuse_what_they_cannot_read(settings: Any) -> None:
    assert signin_policy.limits()["failed_signin"] == [
        signin_policy.Rate(5, 900, "account"), signin_policy.Rate(30, 900, "address")]
    settings.SIGNIN_LIMITS = "reset=3/2h/account"
    assert signin_policy.limits()["reset"] == [signin_policy.Rate(3, 7200, "account")]
    assert signin_policy.limits()["code"][0].amount == 5  # the others keep their defaults
    for bad in ("nope=1/1m/account", "reset=0/1m/account", "reset=1/1w/account",
                "reset=1/1m/everyone", "reset=1/1m"):
        with pytest.raises(ValueError):
            signin_policy.parse_limits(bad)


@pytest.mark.django_db
def test_staff_sign_in_locks_after_wrong_passwords_even_for_the_right_one(
        db: None) -> None:
    staff = _user("boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    to_login = client.get("/staff/")
    assert to_login.status_code == 302 and to_login["Location"].startswith("/staff/login/")
    to_page = client.get(to_login["Location"])
    assert to_page["Location"] == "/accounts/login/?next=%2Fstaff%2F"
    # Django admin's own form is gone: posting a password to it signs nobody in.
    posted = client.post("/staff/login/?next=/staff/", {"username": staff.email,
                                                         "password": PASSWORD})
    assert posted.status_code == 302 and client.get("/staff/").status_code == 302

    answers = [page_login(client, staff.email, f"guess-{n}", "/staff/") for n in range(62)]
    assert all(a.status_code == 200 for a in answers)
    assert REFUSED not in answers[4].content.decode()
    assert all(REFUSED in a.content.decode() for a in answers[5:])
    right = page_login(client, staff.email, PASSWORD, "/staff/")
    assert right.status_code == 200 and REFUSED in right.content.decode()
    assert client.get("/staff/").status_code == 302  # still not signed in

    clock.advance(dt.timedelta(minutes=16))  # the window is over
    opened = page_login(client, staff.email, PASSWORD, "/staff/")
    assert opened.status_code == 302 and opened["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_one_count_and_one_answer_at_every_door(db: None) -> None:
    user = _user(phone="+447911123450")
    portal = Client()
    for _ in range(2):
        assert "not correct" in page_login(portal, user.email, "wrong").content.decode()
    assert api_login(user.email, "wrong").status_code == 400
    assert api_login(user.email, "wrong", client="browser").status_code == 400
    # Signing in with the phone number is the same account: the fifth failure.
    assert api_login("+447911123450", "wrong").status_code == 400

    for door in ("app", "browser"):
        refused = api_login(user.email, PASSWORD, client=door)
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 900
        body = refused.json()
        assert body["code"] == "too_many_attempts" and body["message"] == REFUSED
        assert body["errors"] == [{"code": "too_many_attempts", "message": REFUSED}]
        assert body["detail"] == {"retry_after": int(refused["Retry-After"])}
    assert api_login("+447911123450", PASSWORD).status_code == 429
    page = page_login(Client(), user.email, PASSWORD)
    assert page.status_code == 200 and REFUSED in page.content.decode()
    assert page.context["form"].errors.as_data()["__all__"][0].code == "too_many_attempts"
    User.objects.filter(pk=user.pk).update(is_staff=True)
    staff = Client()
    staff_page = page_login(staff, user.email, PASSWORD, "/staff/")
    assert staff_page.status_code == 200 and REFUSED in staff_page.content.decode()
    assert staff.get("/staff/").status_code == 302

    # In Chinese too, with the same code.
    zh = Client(REMOTE_ADDR="127.0.0.1").post(
        "/_allauth/app/v1/auth/login", data=json.dumps({"email": user.email,
                                                         "password": PASSWORD}),
        content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.json()["code"] == "too_many_attempts" and zh.json()["message"] != REFUSED


@pytest.mark.django_db
def test_right_passwords_do_not_count_and_unknown_accounts_lock_alike(db: None) -> None:
    user = _user()
    for _ in range(4):
        assert api_login(user.email, "wrong").status_code == 400
        assert api_login(user.email, PASSWORD).status_code == 200
    # Four failures and four successes: one more failure is allowed, then the lock.
    assert api_login(user.email, "wrong").status_code == 400
    assert api_login(user.email, PASSWORD).status_code == 429
    # An address nobody has is locked the same way, so the lock tells nothing.
    answers = [api_login("nobody@example.com", "wrong").status_code for _ in range(6)]
    assert answers == [400] * 5 + [429]


@pytest.mark.django_db
def test_an_address_is_limited_across_accounts(db: None, settings: Any) -> None:
    settings.SIGNIN_LIMITS = "failed_signin=5/15m/account,8/15m/address"
    users = [_user(f"user{n}@example.com") for n in range(9)]
    for user in users[:8]:
        assert api_login(user.email, "wrong", address="203.0.113.9").status_code == 400
    assert api_login(users[8].email, PASSWORD, address="203.0.113.9").status_code == 429
    assert api_login(users[8].email, PASSWORD, address="198.51.100.7").status_code == 200
    # IPv6 clients count per /64: a new address in the same network is the same client.
    for n in range(8):
        api_login(users[n].email, "wrong", address=f"2001:db8:1:2::{n + 1}")
    assert api_login(users[8].email, PASSWORD, address="2001:db8:1:2::99").status_code == 429
    assert api_login(users[8].email, PASSWORD, address="2001:db8:1:3::1").status_code == 200


@pytest.mark.django_db
def test_password_resets_by_email_count_per_address_known_or_not(db: None) -> None:
    _user("known@example.com")
    for email in ("known@example.com", "unknown@example.com"):
        answers = [Client().post("/_allauth/app/v1/auth/password/request",
                                 data=json.dumps({"email": email}),
                                 content_type="application/json") for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429], email
        assert answers[-1]["Retry-After"] and answers[-1].json()["code"] == "too_many_attempts"
        page = Client().post("/accounts/password/reset/", {"email": email})
        assert page.status_code == 200 and REFUSED in page.content.decode()
    from esimdesk.notifications.models import Notification

    assert Notification.objects.filter(to="known@example.com",
                                       kind="account:password_reset_key").count() == 5


@pytest.mark.django_db
def test_sign_in_codes_are_limited_per_recipient(db: None) -> None:
    _user("coder@example.com", phone="+447911123451")
    for field, value in (("email", "coder@example.com"), ("phone", "+447911123451"),
                         ("phone", "+447911123452")):
        answers = [Client().post("/_allauth/app/v1/auth/code/request",
                                 data=json.dumps({field: value}),
                                 content_type="application/json").status_code
                   for _ in range(6)]
        assert answers == [401] * 5 + [429], value  # 401: "enter the code" (pending)
        page = Client().post("/accounts/login/code/", {field: value})
        assert page.status_code == 200 and REFUSED in page.content.decode()
    from esimdesk.notifications.models import Notification

    assert Notification.objects.filter(to="+447911123451").count() == 5
    assert not Notification.objects.filter(to="+447911123452").exists()  # no account: no SMS


@pytest.mark.django_db
def test_sms_reset_answers_alike_for_every_number_and_counts_them(db: None) -> None:
    from esimdesk.accounts.models import SmsResetCode
    from esimdesk.notifications.models import Notification

    User.objects.create_user(None, PASSWORD, phone="+447911123453")
    answers: dict[str, list[tuple[int, str]]] = {}
    for number in ("+447911123453", "+447911123454"):
        client = Client()
        answers[number] = []
        for _ in range(7):
            response = client.post("/account/reset/sms/", {"phone": number})
            answers[number].append((response.status_code, response.get("Location", "")
                                    or ("refused" if REFUSED in response.content.decode()
                                        else "other")))
    known, unknown = answers.values()
    assert known == unknown == [(302, "/account/reset/sms/confirm/")] * 5 + [(200, "refused")] * 2
    assert SmsResetCode.objects.count() == 5
    assert Notification.objects.filter(to="+447911123453").count() == 5
    assert not Notification.objects.filter(to="+447911123454").exists()


@pytest.mark.django_db
def test_wrong_sms_reset_codes_lock_the_account(db: None) -> None:
    from esimdesk.accounts import services
    from esimdesk.core.errors import ValidationFailed

    user = User.objects.create_user(None, PASSWORD, phone="+447911123455")
    for _ in range(2):
        services.request_sms_password_reset(phone=user.phone, address="192.0.2.1")
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            services.reset_password_with_sms_code(phone=user.phone, code="000001",
                                                  new_password="brand-new-secret-77",
                                                  address="192.0.2.1")
    assert lockout.locks_of(user) == ["failed_signin"]
    with pytest.raises(signin_policy.TooManyAttempts):
        services.reset_password_with_sms_code(phone=user.phone, code="000001",
                                              new_password="brand-new-secret-77",
                                              address="192.0.2.1")


@pytest.mark.django_db
def test_a_completed_password_reset_lifts_the_lock(db: None) -> None:
    import re

    user = _user("forgot@example.com")
    for _ in range(5):
        api_login(user.email, "wrong")
    assert api_login(user.email, PASSWORD).status_code == 429
    client = Client()
    client.post("/accounts/password/reset/", {"email": user.email})
    from esimdesk.notifications.models import Notification

    body = Notification.objects.get(kind="account:password_reset_key").body_text
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", body).group(1)
    form = client.get(link, follow=True)
    client.post(form.redirect_chain[-1][0], {"password1": "brand-new-secret-77",
                                             "password2": "brand-new-secret-77"})
    assert api_login(user.email, "brand-new-secret-77").status_code == 200


@pytest.mark.django_db
def test_staff_unlock_clears_the_counts_in_the_shared_store(db: None) -> None:
    user = _user("locked@example.com", phone="+447911123456", phone_verified=True)
    for _ in range(5):
        api_login(user.email, "wrong")
    for _ in range(5):
        Client().post("/_allauth/app/v1/auth/code/request",
                      data=json.dumps({"phone": user.phone}), content_type="application/json")
    assert lockout.locks_of(user) == ["failed_signin", "code"]
    # The store is the database every process shares, not this process's memory: a new
    # store object, reading rows, sees the lock.
    assert isinstance(counters.store(), counters.DatabaseCounters)
    from esimdesk.accounts.models import SignInCounter

    assert SignInCounter.objects.filter(hits__gte=5).count() >= 2
    assert signin_policy.locked_for(account=signin_policy.signin_account(user=user)) > 0
    assert lockout.unlock(user=user, actor="staff:1", reason="called us") == [
        "failed_signin", "code"]
    assert counters.DatabaseCounters().peek(
        name for _rate, name in signin_policy._keys(
            "failed_signin", account=f"user:{user.pk}", address=None)) == {}
    assert api_login(user.email, PASSWORD).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_lock_and_its_unlock_are_seen_on_another_connection(db: None) -> None:
    """What another web worker sees: a second database connection, on its own thread."""
    user = _user("seen@example.com")
    for _ in range(5):
        api_login(user.email, "wrong")

    def locked_elsewhere() -> int:
        seen: list[int] = []

        def read() -> None:
            try:
                seen.append(signin_policy.locked_for(
                    account=signin_policy.signin_account(user=user)))
            finally:
                connection.close()

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(30)
        return seen[0]

    assert locked_elsewhere() > 0
    lockout.unlock(user=user, actor="staff:1", reason="verified")
    assert locked_elsewhere() == 0


@pytest.mark.django_db
def test_counters_start_again_when_their_window_ends(db: None) -> None:
    store = counters.DatabaseCounters()
    assert [store.hit("t:k", 60).hits for _ in range(3)] == [1, 2, 3]
    assert store.peek(["t:k"])["t:k"].retry_after == 60
    clock.advance(dt.timedelta(seconds=30))
    assert store.hit("t:k", 60) == counters.Count(4, 30)
    store.undo("t:k")
    assert store.peek(["t:k"])["t:k"].hits == 3
    clock.advance(dt.timedelta(seconds=31))
    assert store.peek(["t:k"]) == {}
    store.undo("t:k")  # an expired counter is not taken below zero or revived
    assert store.hit("t:k", 60) == counters.Count(1, 60)
    clock.advance(dt.timedelta(minutes=5))
    assert store.sweep() == 1


@pytest.mark.django_db
def test_the_database_cache_table_is_made_after_migrations_and_swept(db: None) -> None:
    """A fresh database gets the cache's table from ``migrate`` (``esimdesk run``, ``esimdesk
    manage migrate``), and the scheduler forgets finished counters."""
    from django.conf import settings
    from django.core.management.sql import emit_post_migrate_signal

    from esimdesk.scheduler import run_sweep

    assert settings.CACHES["default"]["BACKEND"].endswith("db.DatabaseCache")
    table = settings.CACHES["default"]["LOCATION"]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(table)}")
    assert table not in connection.introspection.table_names()
    emit_post_migrate_signal(0, False, "default")
    assert table in connection.introspection.table_names()

    counters.DatabaseCounters().hit("sweep:me", 60)
    clock.advance(dt.timedelta(minutes=2))
    assert run_sweep("signin_counters") == 1


@pytest.mark.django_db
@pytest.mark.parametrize("client_kind", ["app", "browser"])
def test_a_code_request_naming_nobody_is_refused_not_a_500(client_kind: str) -> None:
    response = Client().post(f"/_allauth/{client_kind}/v1/auth/code/request", data="{}",
                             content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "login_required"


@pytest.mark.django_db
def test_the_code_page_asks_for_an_address_or_a_number() -> None:
    response = Client().post("/accounts/login/code/", {"email": ""})
    assert response.status_code == 200
    assert "Give an e-mail address or a phone number." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("client_kind", ["app", "browser"])
def test_changing_a_phone_number_needs_a_signed_in_visitor(client_kind: str) -> None:
    response = Client().patch(f"/_allauth/{client_kind}/v1/account/phone",
                              data='{"phone": "+8613800138000"}',
                              content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_staff_change_their_password_on_the_one_password_page() -> None:
    staff = User.objects.create_user("pw-staff@example.com", "x-long-password-1",
                                     is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.get("/staff/password_change/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/"
    # Django admin's own form, which would check the current password uncounted, is gone.
    response = client.post("/staff/password_change/", {"old_password": "guess"})
    assert response.status_code == 302
    assert User.objects.get(pk=staff.pk).check_password("x-long-password-1")
