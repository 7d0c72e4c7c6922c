"""Two-factor sign-in (TOTP, allauth MFA): anyone may turn it on from their account pages, the
API asks for the code, wrong codes count as failed sign-ins, and in production every staff
member must have it before the console opens."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal import auth as totp
from django.test import Client

from esimdesk.accounts.models import User
from tests.conftest import verified_email

PASSWORD = "correct-horse-battery-42"


def code_for(secret: str, steps_ahead: int = 0) -> str:
    """The authenticator app's code, ``steps_ahead`` periods from now (the tests accept one
    period either side, so two codes made in one test are both still good and distinct)."""
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD + steps_ahead
    return totp.format_hotp_value(totp.hotp_value(secret, counter))


@pytest.fixture(autouse=True)
def _tolerance(settings: Any) -> None:
    settings.MFA_TOTP_TOLERANCE = 1


def _user(email: str, **extra: Any) -> User:
    user = User.objects.create_user(email, PASSWORD, **extra)
    verified_email(user)
    return user


def _open_setup(client: Client) -> Any:
    """Setting up an authenticator asks for the password again first (allauth)."""
    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/reauthenticate/")
    assert client.post(asked["Location"], {"password": PASSWORD}).status_code == 302
    return client.get("/accounts/2fa/totp/activate/")


def _with_totp(user: User) -> str:
    secret = totp.generate_totp_secret()
    totp.TOTP.activate(user, secret)
    return secret


@pytest.mark.django_db
def test_a_traveller_turns_on_totp_in_the_portal_then_signs_in_with_a_code(
        db: None) -> None:
    user = _user("mfa@example.com")
    client = Client()
    assert client.post("/accounts/login/", {"login": user.email,
                                            "password": PASSWORD}).status_code == 302
    account = client.get("/account/").content.decode()
    assert 'href="/accounts/2fa/"' in account and 'data-mfa="off"' in account
    index = client.get("/accounts/2fa/")
    assert index.status_code == 200 and 'class="card narrow auth"' in index.content.decode()
    setup = _open_setup(client)
    assert setup.status_code == 200
    assert "data:image/svg+xml;base64," in setup.content.decode()  # the QR code
    secret = setup.context["form"].secret
    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert wrong.status_code == 200
    done = client.post("/accounts/2fa/totp/activate/", {"code": code_for(secret)})
    assert done.status_code == 302
    assert user.authenticator_set.filter(type="totp").exists()
    assert 'data-mfa="on"' in client.get("/account/").content.decode()
    client.post("/accounts/logout/")

    fresh = Client()
    step = fresh.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert step["Location"] == "/accounts/2fa/authenticate/"
    assert fresh.get("/dashboard/").status_code == 302  # the password alone is not enough
    bad = fresh.post("/accounts/2fa/authenticate/", {"code": "123456"})
    assert bad.status_code == 200 and fresh.get("/dashboard/").status_code == 302
    ok = fresh.post("/accounts/2fa/authenticate/", {"code": code_for(secret, 1)})
    assert ok.status_code == 302
    assert fresh.get("/dashboard/").status_code == 200


@pytest.mark.django_db
def test_the_two_factor_pages_are_in_the_portal_and_in_chinese(db: None) -> None:
    user = _user("zh@example.com", language="zh-hans")
    client = Client()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    page = _open_setup(client).content.decode()
    assert 'lang="zh-Hans"' in page and "身份验证器应用" in page
    assert 'class="card narrow auth"' in page


@pytest.mark.django_db
def test_the_api_asks_for_the_code_and_counts_wrong_ones(db: None) -> None:
    user = _user("app-mfa@example.com")
    secret = _with_totp(user)
    client = Client()
    step = client.post("/_allauth/app/v1/auth/login", data=json.dumps(
        {"email": user.email, "password": PASSWORD}), content_type="application/json")
    assert step.status_code == 401
    flows = {f["id"]: f for f in step.json()["data"]["flows"]}
    assert flows["mfa_authenticate"].get("is_pending") and flows["mfa_authenticate"]["types"] \
        == ["totp"]
    token = step.json()["meta"]["session_token"]
    assert Client().get("/api/v1/esims", HTTP_X_SESSION_TOKEN=token).status_code == 401

    def authenticate(code: str) -> Any:
        return client.post("/_allauth/app/v1/auth/2fa/authenticate",
                           data=json.dumps({"code": code}), content_type="application/json",
                           HTTP_X_SESSION_TOKEN=token)

    assert authenticate("000000").status_code == 400
    done = authenticate(code_for(secret, 1))
    assert done.status_code == 200
    token = done.json()["meta"]["session_token"]
    assert Client().get("/api/v1/esims", HTTP_X_SESSION_TOKEN=token).status_code == 200


@pytest.mark.django_db
def test_wrong_codes_lock_the_account_like_wrong_passwords(db: None) -> None:
    user = _user("guess-mfa@example.com")
    secret = _with_totp(user)
    client = Client()
    step = client.post("/_allauth/app/v1/auth/login", data=json.dumps(
        {"email": user.email, "password": PASSWORD}), content_type="application/json")
    token = step.json()["meta"]["session_token"]
    answers = [client.post("/_allauth/app/v1/auth/2fa/authenticate",
                           data=json.dumps({"code": f"00000{n}"}),
                           content_type="application/json",
                           HTTP_X_SESSION_TOKEN=token) for n in range(6)]
    assert [a.status_code for a in answers] == [400] * 5 + [429]
    assert answers[-1]["Retry-After"] and answers[-1].json()["code"] == "too_many_attempts"
    right = client.post("/_allauth/app/v1/auth/2fa/authenticate",
                        data=json.dumps({"code": code_for(secret, 1)}),
                        content_type="application/json", HTTP_X_SESSION_TOKEN=token)
    assert right.status_code == 429  # the right code does not open a locked account
    # Nor does the password at any door.
    page = Client().post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert "Too many attempts" in page.content.decode()

    portal = Client()
    other = _user("guess-page@example.com")
    other_secret = _with_totp(other)
    portal.post("/accounts/login/", {"login": other.email, "password": PASSWORD})
    pages = [portal.post("/accounts/2fa/authenticate/", {"code": f"11111{n}"})
             for n in range(6)]
    assert "Too many attempts" not in pages[4].content.decode()
    assert "Too many attempts" in pages[5].content.decode()
    refused = portal.post("/accounts/2fa/authenticate/", {"code": code_for(other_secret, 1)})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert portal.get("/dashboard/").status_code == 302


@pytest.mark.django_db
def test_staff_without_totp_are_sent_to_set_it_up_in_production(db: None,
                                                                 settings: Any) -> None:
    staff = _user("agent-mfa@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/staff/").status_code == 200  # not required outside production
    settings.STAFF_MFA_REQUIRED = True
    for path in ("/staff/", "/staff/customers/", "/staff/outbox/", "/staff/support/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/totp/activate/", path
    asked = client.get("/accounts/2fa/totp/activate/", follow=True)
    assert "two-factor sign-in" in asked.content.decode()  # said on the password page
    _with_totp(staff)
    assert client.get("/staff/").status_code == 200
    # Travellers are not asked: the requirement is the staff console's.
    traveller = Client()
    traveller.force_login(_user("traveller-mfa@example.com"))
    assert traveller.get("/dashboard/").status_code == 200


def test_production_settings_require_staff_totp_and_pass_the_checks() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "ESIMDESK_PRODUCTION": "1",
           "ESIMDESK_SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789",
           "ESIMDESK_DATABASE_URL": "postgresql://u@127.0.0.1:1/none",
           "ESIMDESK_PUBLIC_URL": "https://esim.example.com",
           "DJANGO_SETTINGS_MODULE": "esimdesk.settings"}
    for verification in ("optional", "mandatory", "none"):
        answer = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); "
             "from django.core.management import call_command; call_command('check'); "
             "from django.conf import settings; "
             "print(settings.STAFF_MFA_REQUIRED, settings.SIGNIN_EMAIL_VERIFICATION)"],
            env={**env, "ESIMDESK_EMAIL_VERIFICATION": verification},
            capture_output=True, text=True)
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.split()[-2:] == ["True", verification]
