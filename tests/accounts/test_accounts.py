"""Sign up and sign in with e-mail or phone, e-mail verification, password reset by e-mail
link and by SMS code, preferences."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import SmsResetCode, User
from esimdesk.notifications.models import OutboxMessage
from tests.conftest import run_tasks

PASSWORD = "correct-horse-battery-42"


def last_text(to: str) -> str:
    run_tasks()
    return OutboxMessage.objects.filter(to=to).order_by("-id").first().body_text


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


@pytest.mark.django_db
def test_sign_up_with_email_and_verify(db: None) -> None:
    client = Client()
    response = client.post("/accounts/signup/", {"email": "mei@example.com",
                                                 "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(email="mei@example.com")
    assert user.phone is None
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/dashboard/").status_code == 302  # not before the address is verified
    body = last_text("mei@example.com")
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+)", body).group(1)
    assert client.post(link).status_code == 302
    assert user.emailaddress_set.get().verified
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.django_db
def test_sign_up_with_phone_verify_by_sms_then_sign_in(db: None) -> None:
    client = Client()
    response = client.post("/accounts/signup/", {"phone": "+86 138 0013 8001",
                                                 "password1": PASSWORD, "password2": PASSWORD})
    assert response["Location"] == "/accounts/phone/verify/"
    user = User.objects.get(phone="+8613800138001")
    assert user.email is None and not user.phone_verified
    code = code_in(last_text("+8613800138001"))
    assert client.post("/accounts/phone/verify/", {"code": code}).status_code == 302
    user.refresh_from_db()
    assert user.phone_verified

    fresh = Client()
    response = fresh.post("/accounts/login/", {"login": "+8613800138001",
                                               "password": PASSWORD})
    assert response.status_code == 302
    assert fresh.get("/dashboard/").status_code == 200


@pytest.mark.django_db
def test_sign_up_needs_email_or_phone(db: None) -> None:
    response = Client().post("/accounts/signup/", {"password1": PASSWORD,
                                                   "password2": PASSWORD})
    assert response.status_code == 200
    assert "e-mail address or a phone number" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_password_reset_by_email_link(db: None) -> None:
    User.objects.create_user("li@example.com", PASSWORD)
    client = Client()
    client.post("/accounts/password/reset/", {"email": "li@example.com"})
    body = last_text("li@example.com")
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
                           {"password1": "brand-new-secret-77", "password2": "brand-new-secret-77"})
    assert response.status_code == 302
    assert User.objects.get(email="li@example.com").check_password("brand-new-secret-77")


@pytest.mark.django_db
def test_password_reset_by_sms_code(db: None) -> None:
    User.objects.create_user(None, PASSWORD, phone="+447911123455")
    client = Client()
    response = client.post("/account/reset/sms/", {"phone": "+44 7911 123455"})
    assert response["Location"] == "/account/reset/sms/confirm/"
    code = code_in(last_text("+447911123455"))
    wrong = client.post("/account/reset/sms/confirm/", {
        "phone": "+447911123455", "code": "000000" if code != "000000" else "111111",
        "password": "brand-new-secret-77"})
    assert wrong.status_code == 200
    assert SmsResetCode.objects.get().attempts == 1
    ok = client.post("/account/reset/sms/confirm/", {
        "phone": "+447911123455", "code": code, "password": "brand-new-secret-77"})
    assert ok.status_code == 302
    assert User.objects.get(phone="+447911123455").check_password("brand-new-secret-77")
    # A used code cannot be used again.
    again = client.post("/account/reset/sms/confirm/", {
        "phone": "+447911123455", "code": code, "password": "another-secret-88"})
    assert again.status_code == 200


@pytest.mark.django_db
def test_sms_reset_for_unknown_number_sends_nothing_and_says_the_same(db: None) -> None:
    response = Client().post("/account/reset/sms/", {"phone": "+447911123456"})
    assert response.status_code == 302
    run_tasks()
    assert not OutboxMessage.objects.exists()
    bad = Client().post("/account/reset/sms/", {"phone": "12"})
    assert bad.status_code == 200
    assert "country code" in bad.content.decode()


@pytest.mark.django_db
def test_sms_code_guessing_is_limited(db: None, settings: Any) -> None:
    """Each code takes SMS_CODE_MAX_ATTEMPTS guesses (the sign-in policy's own limit per
    account is tested in test_signin_policy.py: raised here so this one shows)."""
    from esimdesk.accounts import services
    from esimdesk.core.errors import ValidationFailed

    settings.SIGNIN_LIMITS = "failed_signin=50/15m/account,50/15m/address"
    User.objects.create_user(None, PASSWORD, phone="+447911123457")
    services.request_sms_password_reset(phone="+447911123457", address="192.0.2.1")
    code = code_in(last_text("+447911123457"))
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(services.SMS_CODE_MAX_ATTEMPTS):
        with pytest.raises(ValidationFailed):
            services.reset_password_with_sms_code(phone="+447911123457", code=wrong,
                                                  new_password="brand-new-secret-77",
                                                  address="192.0.2.1")
    with pytest.raises(ValidationFailed):  # the right code no longer works either
        services.reset_password_with_sms_code(phone="+447911123457", code=code,
                                              new_password="brand-new-secret-77",
                                              address="192.0.2.1")


@pytest.mark.django_db
def test_preferences_language_and_time_zone(db: None) -> None:
    user = User.objects.create_user("pref@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.post("/account/", {"name": "Pat", "language": "zh-hans",
                                         "time_zone": "Asia/Shanghai",
                                         "preferred_currency": "CNY"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.language, user.time_zone, user.preferred_currency) == (
        "zh-hans", "Asia/Shanghai", "CNY")
    bad = client.post("/account/", {"name": "Pat", "language": "fr", "time_zone": "Mars/Base",
                                    "preferred_currency": "CNY"})
    assert bad.status_code == 200
    user.refresh_from_db()
    assert user.language == "zh-hans"


@pytest.mark.django_db
def test_headless_app_login_gives_a_session_token_for_the_api(db: None) -> None:
    import json

    from allauth.account.models import EmailAddress

    user = User.objects.create_user("app@example.com", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client()
    response = client.post("/_allauth/app/v1/auth/login", data=json.dumps(
        {"email": "app@example.com", "password": PASSWORD}), content_type="application/json")
    token = response.json()["meta"]["session_token"]
    esims = Client().get("/api/v1/esims", HTTP_X_SESSION_TOKEN=token)
    assert esims.status_code == 200
    assert esims.json() == {"items": [], "count": 0}


@pytest.mark.django_db
def test_signing_in_with_an_unconfirmed_address_follows_the_setting(db: None,
                                                                    settings: Any) -> None:
    """Accounts made by staff or an import never confirmed their address: by default they
    sign in; with ESIMDESK_EMAIL_VERIFICATION=mandatory they confirm it first."""
    import json

    User.objects.create_user("imported@example.com", PASSWORD)

    def login() -> Any:
        return Client().post("/_allauth/app/v1/auth/login", data=json.dumps(
            {"email": "imported@example.com", "password": PASSWORD}),
            content_type="application/json")

    assert login().status_code == 200
    settings.SIGNIN_EMAIL_VERIFICATION = "mandatory"
    asked = login()
    assert asked.status_code == 401
    assert {"id": "verify_email", "is_pending": True} in asked.json()["data"]["flows"]
    assert "/accounts/confirm-email/" in last_text("imported@example.com")
