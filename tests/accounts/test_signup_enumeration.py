"""Sign-up never tells whether an e-mail address or a phone number has an account (the owner
is told instead), and a sign-up over the limits is a 429 with nothing created."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from esimdesk import settings as production
from esimdesk.accounts.models import User
from esimdesk.notifications.models import Notification

PASSWORD = "correct-horse-battery-42"


def api_signup(body: dict[str, str], address: str = "127.0.0.1") -> Any:
    return Client(REMOTE_ADDR=address).post("/_allauth/app/v1/auth/signup",
                                            data=json.dumps({**body, "password": PASSWORD}),
                                            content_type="application/json")


def _shape(response: Any) -> tuple[int, Any]:
    """What a client can compare between two answers (the session token always differs)."""
    body = response.json()
    return response.status_code, body.get("data"), sorted(body.get("meta", {}))


@pytest.mark.django_db
def test_signing_up_with_a_taken_email_answers_as_for_a_new_one(db: None) -> None:
    owner = User.objects.create_user("taken@example.com", PASSWORD, language="zh-hans")
    new = api_signup({"email": "fresh@example.com"})
    taken = api_signup({"email": "Taken@Example.com"})
    assert _shape(new) == _shape(taken)
    assert taken.status_code == 401  # both: "confirm the address with the mailed link"
    assert "email_taken" not in taken.content.decode()
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    told = Notification.objects.get(to="taken@example.com")
    assert told.kind == "account:account_already_exists" and told.user == owner
    assert told.language == "zh-hans"
    # Whatever code is typed, the pending sign-up of a taken address goes nowhere.
    guess = Client().post("/_allauth/app/v1/auth/email/verify", data=json.dumps(
        {"key": "123456"}), content_type="application/json",
        HTTP_X_SESSION_TOKEN=taken.json()["meta"]["session_token"])
    assert guess.status_code in (400, 409)

    page_new = Client().post("/accounts/signup/", {"email": "fresh2@example.com",
                                                   "password1": PASSWORD, "password2": PASSWORD})
    page_taken = Client().post("/accounts/signup/", {"email": "taken@example.com",
                                                     "password1": PASSWORD,
                                                     "password2": PASSWORD})
    assert (page_new.status_code, page_new["Location"]) == (
        page_taken.status_code, page_taken["Location"]) == (302, "/accounts/confirm-email/")
    assert Notification.objects.filter(to="taken@example.com").count() == 2
    pages = []
    for email in ("taken@example.com", "fresh3@example.com"):
        browser = Client()
        browser.post("/accounts/signup/", {"email": email, "password1": PASSWORD,
                                           "password2": PASSWORD})
        page = browser.get("/accounts/confirm-email/").content.decode()
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
        pages.append(page.replace(email, "ADDRESS"))
    assert pages[0] == pages[1] and "sent an email to you" in pages[0]


@pytest.mark.django_db
def test_signing_up_with_a_taken_phone_answers_as_for_a_new_one(db: None) -> None:
    User.objects.create_user(None, PASSWORD, phone="+447911123460", phone_verified=True)
    new = api_signup({"phone": "+447911123461"})
    taken = api_signup({"phone": "+447911123460"})
    assert _shape(new) == _shape(taken) and taken.status_code == 401
    assert User.objects.filter(phone="+447911123460").count() == 1
    [told] = Notification.objects.filter(to="+447911123460")
    assert told.kind == "account_already_exists" and "already has one" in told.body_text
    [code] = Notification.objects.filter(to="+447911123461")
    assert code.kind == "account_code"
    page = Client()
    response = page.post("/accounts/signup/", {"phone": "+44 7911 123460",
                                               "password1": PASSWORD, "password2": PASSWORD})
    assert response["Location"] == "/accounts/phone/verify/"
    assert "can be used here, we have sent it a text" in page.get(
        "/accounts/phone/verify/").content.decode()


@pytest.mark.django_db
def test_a_sign_up_needs_an_email_or_a_phone_in_the_api_too(db: None) -> None:
    response = api_signup({})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "email_or_phone"
    assert not User.objects.exists()


@pytest.mark.django_db
def test_phone_sign_ups_over_the_limit_are_429_with_nothing_created(
        db: None, settings: Any) -> None:
    """allauth's own phone limit, on: it used to raise (a 500) after creating the account."""
    settings.ACCOUNT_RATE_LIMITS = production.ACCOUNT_RATE_LIMITS
    answers = [api_signup({"phone": f"+4479111235{n:02d}"}) for n in range(35)]
    statuses = [a.status_code for a in answers]
    assert statuses == [401] * 30 + [429] * 5  # 30 an hour from one address, by default
    for refused in answers[30:]:
        assert 0 < int(refused["Retry-After"]) <= 3600
        assert refused.json()["code"] == "too_many_attempts"
    assert User.objects.count() == 30
    assert Notification.objects.filter(kind="account_code").count() == 30
    assert not User.objects.filter(phone__in=[f"+4479111235{n:02d}" for n in range(30, 35)])
    # Another client address is not held back by this one.
    assert api_signup({"phone": "+447911123599"}, address="198.51.100.8").status_code == 401


@pytest.mark.django_db
def test_a_number_gets_few_texts_however_they_are_asked_for(db: None,
                                                            settings: Any) -> None:
    """Sign-up, a resent code and sign-ups with the number once it is taken all count."""
    settings.ACCOUNT_RATE_LIMITS = production.ACCOUNT_RATE_LIMITS
    number = "+447911123470"
    first = Client()
    signed = first.post("/_allauth/app/v1/auth/signup", data=json.dumps(
        {"phone": number, "password": PASSWORD}), content_type="application/json")
    assert signed.status_code == 401
    token = signed.json()["meta"]["session_token"]
    assert first.post("/_allauth/app/v1/auth/phone/verify/resend",
                      HTTP_X_SESSION_TOKEN=token).status_code == 200
    assert [api_signup({"phone": number}).status_code for _ in range(4)] == [401] * 3 + [429]
    page = Client().post("/accounts/signup/", {"phone": number,
                                               "password1": PASSWORD, "password2": PASSWORD})
    assert page.status_code == 200 and "Too many attempts" in page.content.decode()
    kinds = sorted(Notification.objects.filter(to=number).values_list("kind", flat=True))
    assert kinds == ["account_already_exists"] * 3 + ["account_code"] * 2


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_phone_sign_up_never_claims_a_code_was_sent(db: None, language: str) -> None:
    """With a taken number, the owner gets a text saying so, not a code: the page and the
    message after the sign-up say what is true either way, and read the same for both."""
    User.objects.create_user(None, PASSWORD, phone="+447911123460", phone_verified=True)
    pages = []
    for number in ("+447911123460", "+447911123462"):
        browser = Client()
        browser.cookies["esimdesk_language"] = language
        response = browser.post("/accounts/signup/", {"phone_0": "GB", "phone_1": number,
                                                      "password1": PASSWORD,
                                                      "password2": PASSWORD}, follow=True)
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "",
                      response.content.decode()).replace(number, "NUMBER")
        pages.append(page)
    assert pages[0] == pages[1]
    text = re.sub(r"<[^>]+>", "", pages[0])
    if language == "en":
        assert "a code is on its way" not in text
        assert "we have sent it a text message: a code to enter below" in text
        assert "if the number already has an account, how to sign in" in text
    else:
        assert "验证码已在发送途中" not in text
        assert "如该号码已有账户" in text
    kinds = dict(Notification.objects.values_list("to", "kind"))
    assert kinds == {"+447911123460": "account_already_exists",
                     "+447911123462": "account_code"}
