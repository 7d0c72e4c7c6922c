"""A visitor who chooses a plan keeps it through every way of signing in: sign-up with an
e-mail confirmation (in the same browser or another), sign-in with a password, a second
factor, a code, after a password reset by e-mail or SMS, and a phone sign-up. ``next`` is
never dropped, and never leads off the site."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.notifications.models import Notification
from tests.accounts.test_two_factor import _with_totp, code_for
from tests.builders import DAY
from tests.conftest import mailed_code, mailed_key, verified_email

PASSWORD = "correct-horse-battery-42"
CHECKOUT = f"/checkout/?plan={DAY}&currency=EUR"


@pytest.fixture(autouse=True)
def _shop(shop: Any, settings: Any) -> None:
    settings.MFA_TOTP_TOLERANCE = 1


def choose(client: Client) -> str:
    """From the plan's page to its checkout: redirected to the sign-in page (followed, as a
    browser does), which keeps where the visitor was going; returns that page's URL."""
    page = client.get(f"/plans/{DAY}/?currency=EUR").content.decode()
    assert f'href="/checkout/?plan={DAY}&amp;currency=EUR"' in page
    answer = client.get(CHECKOUT)
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?next=" + quote(CHECKOUT, safe="/")
    assert client.get(answer["Location"]).status_code == 200
    return answer["Location"]


def at_checkout(client: Client, response: Any) -> None:
    """``response`` leads to the chosen plan's checkout, in the chosen currency."""
    assert response.status_code == 302, getattr(response, "content", b"")[:300]
    assert response["Location"] == CHECKOUT
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["plan"].code == DAY and page.context["currency"] == "EUR"
    assert "€2.99" in page.content.decode() or "2.99" in page.content.decode()


def links(html: str) -> list[str]:
    return [u.replace("&amp;", "&") for u in re.findall(r'href="(/accounts/[^"]*)"', html)]


def user(email: str = "kim@example.com") -> User:
    made = User.objects.create_user(email, PASSWORD)
    verified_email(made)
    return made


@pytest.mark.django_db
def test_sign_up_from_the_sign_in_page_confirm_and_land_at_the_checkout() -> None:
    client = Client()
    login_page = client.get(choose(client)).content.decode()
    # The plan is shown, with the way to buy it as a guest.
    assert "Your chosen plan" in login_page and "Japan 1 GB / day" in login_page
    assert f"/checkout/guest/?plan={DAY}&amp;currency=EUR" in login_page
    # Every sign-up and sign-in link on the page carries next (the header's too).
    for link in links(login_page):
        if link.startswith(("/accounts/signup/", "/accounts/login/")):
            assert "next=" in link, link
    signup_url = next(u for u in links(login_page) if u.startswith("/accounts/signup/?next="))
    signup_page = client.get(signup_url).content.decode()
    assert f'name="next" value="/checkout/?plan={DAY}&amp;currency=EUR"' in signup_page
    assert "Your chosen plan" in signup_page
    assert all("next=" in u for u in links(signup_page)
               if u.startswith(("/accounts/login/", "/accounts/signup/")))
    sent = client.post("/accounts/signup/", {"email": "new@example.com", "password1": PASSWORD,
                                             "password2": PASSWORD, "next": CHECKOUT})
    assert sent["Location"] == "/accounts/confirm-email/"
    mail = Notification.objects.filter(to="new@example.com").latest("id").body_text
    assert "?next=" + quote(CHECKOUT, safe="/") in mail.replace("%2F", "/")
    at_checkout(client, client.post(f"/accounts/confirm-email/{mailed_key('new@example.com')}/"))


@pytest.mark.django_db
def test_the_confirmation_link_opened_in_another_browser_asks_to_sign_in_then_checks_out(
        ) -> None:
    first = Client()
    choose(first)
    first.post("/accounts/signup/", {"email": "two@example.com", "password1": PASSWORD,
                                     "password2": PASSWORD, "next": CHECKOUT})
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+)",
                     Notification.objects.filter(to="two@example.com").latest("id").body_text
                     ).group(1)
    phone = Client()
    page = phone.get(link).content.decode()
    assert f'name="next" value="/checkout/?plan={DAY}&amp;currency=EUR"' in page
    confirmed = phone.post(link.split("?")[0], {"next": CHECKOUT})
    assert confirmed["Location"] == CHECKOUT
    asked = phone.get(CHECKOUT)
    assert asked["Location"].startswith("/accounts/login/?next=")
    at_checkout(phone, phone.post(asked["Location"], {"login": "two@example.com",
                                                      "password": PASSWORD}))


@pytest.mark.django_db
def test_sign_in_with_a_password_or_from_the_header_link_lands_at_the_checkout() -> None:
    user()
    client = Client()
    login_url = choose(client)
    at_checkout(client, client.post(login_url, {"login": "kim@example.com",
                                                "password": PASSWORD}))
    client.post("/accounts/logout/")
    # The header's "Sign in" link (no next of its own) after the plan was chosen.
    other = Client()
    choose(other)
    other.get("/accounts/password/reset/")  # wandering about the sign-in pages
    at_checkout(other, other.post("/accounts/login/", {"login": "kim@example.com",
                                                       "password": PASSWORD}))
    # Followed once: the next sign-in goes to the dashboard.
    other.post("/accounts/logout/")
    again = other.post("/accounts/login/", {"login": "kim@example.com", "password": PASSWORD})
    assert again["Location"] == "/dashboard/"


@pytest.mark.django_db
def test_sign_in_with_a_second_factor_lands_at_the_checkout() -> None:
    secret = _with_totp(user())
    client = Client()
    step = client.post(choose(client), {"login": "kim@example.com", "password": PASSWORD})
    assert step["Location"] == "/accounts/2fa/authenticate/"
    page = client.get("/accounts/2fa/authenticate/").content.decode()
    assert "Your chosen plan" in page
    at_checkout(client, client.post("/accounts/2fa/authenticate/",
                                    {"code": code_for(secret, 1)}))


@pytest.mark.django_db
def test_sign_in_with_a_mailed_code_lands_at_the_checkout() -> None:
    user()
    client = Client()
    login_page = client.get(choose(client)).content.decode()
    code_url = next(u for u in links(login_page) if u.startswith("/accounts/login/code/"))
    assert "next=" in code_url
    asked = client.post(code_url, {"email": "kim@example.com"})
    assert asked.status_code == 302
    at_checkout(client, client.post(asked["Location"], {"code": mailed_code("kim@example.com")}))


@pytest.mark.django_db
def test_a_password_reset_by_email_then_sign_in_lands_at_the_checkout() -> None:
    user()
    client = Client()
    choose(client)
    client.post("/accounts/password/reset/", {"email": "kim@example.com"})
    body = Notification.objects.filter(to="kim@example.com").latest("id").body_text
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", body).group(1)
    form_page = client.get(link, follow=True)
    done = client.post(form_page.redirect_chain[-1][0],
                       {"password1": "brand-new-secret-77", "password2": "brand-new-secret-77"})
    assert done.status_code == 302
    at_checkout(client, client.post("/accounts/login/", {"login": "kim@example.com",
                                                         "password": "brand-new-secret-77"}))


@pytest.mark.django_db
def test_a_password_reset_by_sms_then_sign_in_lands_at_the_checkout() -> None:
    User.objects.create_user(None, PASSWORD, phone="+447911123480", phone_verified=True)
    client = Client()
    login_page = client.get(choose(client)).content.decode()
    assert "/account/reset/sms/?next=" in login_page
    client.post("/account/reset/sms/", {"phone": "+447911123480"})
    client.post("/account/reset/sms/confirm/", {"phone": "+447911123480",
                                                "code": mailed_code("+447911123480"),
                                                "password": "brand-new-secret-77"})
    at_checkout(client, client.post("/accounts/login/", {"login": "+447911123480",
                                                         "password": "brand-new-secret-77"}))


@pytest.mark.django_db
def test_a_phone_sign_up_lands_at_the_checkout() -> None:
    client = Client()
    choose(client)
    asked = client.post("/accounts/signup/?" + urlencode({"next": CHECKOUT}), {
        "phone": "+447911123481", "password1": PASSWORD, "password2": PASSWORD,
        "next": CHECKOUT})
    assert asked["Location"] == "/accounts/phone/verify/"
    at_checkout(client, client.post("/accounts/phone/verify/",
                                    {"code": mailed_code("+447911123481")}))


EVIL = ["https://evil.example/", "//evil.example/checkout/", "/\\evil.example",
        "https:evil.example", "http://testserver.evil.example/", "javascript:alert(1)"]


@pytest.mark.parametrize("target", EVIL)
@pytest.mark.django_db
def test_next_never_leads_off_the_site(target: str) -> None:
    user()
    client = Client()
    page = client.get("/accounts/login/?" + urlencode({"next": target})).content.decode()
    # No link carries it on (allauth echoes it in its hidden field, and refuses it there).
    assert not [h for h in re.findall(r'href="([^"]*)"', page) if "evil" in h or "alert" in h]
    signed_in = client.post("/accounts/login/?" + urlencode({"next": target}),
                            {"login": "kim@example.com", "password": PASSWORD, "next": target})
    assert signed_in["Location"] == "/dashboard/"
    # Nor through a sign-up's confirmation link opened elsewhere.
    client = Client()
    client.post("/accounts/signup/", {"email": "mal@example.com", "password1": PASSWORD,
                                      "password2": PASSWORD, "next": target})
    key = mailed_key("mal@example.com")
    confirmed = Client().post(f"/accounts/confirm-email/{key}/", {"next": target})
    assert "evil.example" not in confirmed["Location"]
    assert not confirmed["Location"].startswith("//")
    User.objects.filter(email="mal@example.com").delete()


@pytest.mark.django_db
def test_a_plan_kept_in_chinese() -> None:
    client = Client()
    client.cookies["esimdesk_language"] = "zh-hans"
    page = client.get(choose(client)).content.decode()
    assert 'lang="zh-Hans"' in page
    assert "日本 每日 1 GB" in page and "以访客身份购买" in page
