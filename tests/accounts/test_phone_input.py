"""The phone field: a country and the number as dialled there, or the number in full; the
likely countries first, the visitor's own chosen; used on every page that asks for a number."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.core import context
from django.test import Client, RequestFactory
from django.utils import translation

from esimdesk.accounts import signin_policy
from esimdesk.accounts.forms import SmsResetRequestForm
from esimdesk.accounts.models import User
from esimdesk.accounts.phone_input import (
    PhoneNumberField,
    example_number,
    likely_regions,
    region_label,
)
from esimdesk.core.errors import MESSAGES
from esimdesk.notifications.models import Notification
from tests import builders

PASSWORD = "correct-horse-battery-42"
INVALID = str(MESSAGES["invalid_phone"])


@pytest.mark.parametrize(("value", "stored"), [
    (["CN", "139 1234 5678"], "+8613912345678"),
    (["GB", "07700 900123"], "+447700900123"),
    (["CN", "+44 7700 900123"], "+447700900123"),   # in full: whatever the selector says
    (["US", "0044 7700 900123"], "+447700900123"),
    (["HK", "5123-4567"], "+85251234567"),
    (["US", "(201) 555-0123"], "+12015550123"),
    ("+86 139-1234-5678", "+8613912345678"),         # a plain value (the API, allauth)
])
def test_national_and_full_numbers_are_stored_in_e164(value: Any, stored: str) -> None:
    assert PhoneNumberField().clean(value) == stored


@pytest.mark.parametrize("value", [["GB", "12"], ["CN", "139 1234"], ["CN", "call me"],
                                   "+999 1234"])
def test_one_wording_for_a_number_that_cannot_be_used(value: Any) -> None:
    with translation.override("en"):
        with pytest.raises(Exception) as raised:
            PhoneNumberField().clean(value)
        assert raised.value.messages == [str(INVALID)]  # type: ignore[attr-defined]


def _request(accept: str = "", user: Any = None) -> Any:
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE=accept)
    request.user = user or type("Anonymous", (), {"is_authenticated": False})()
    return request


@pytest.mark.django_db
def test_the_likely_country_comes_from_the_number_browser_time_zone_and_language(
        db: None) -> None:
    assert likely_regions(_request("zh-CN,zh;q=0.9,en;q=0.8"))[0] == "CN"
    assert likely_regions(_request("en-GB,en;q=0.9"))[0] == "GB"
    assert likely_regions(_request("en;q=0.5, de-AT;q=0.9"))[0] == "AT"
    assert likely_regions(_request("zh-Hant"))[0] == "TW"
    hong_kong = builders.user("hk@example.com", time_zone="Asia/Hong_Kong")
    assert likely_regions(_request("en", hong_kong))[0] == "HK"
    with_number = builders.user("uk@example.com", phone="+447911123400",
                                time_zone="Asia/Shanghai")
    assert likely_regions(_request("zh-CN", with_number))[:2] == ["GB", "CN"]
    with translation.override("zh-hans"):
        assert likely_regions(_request(""))[0] == "CN"
    regions = likely_regions(_request("fr-FR"))
    assert regions[0] == "FR" and {"CN", "HK", "GB", "US"} <= set(regions)
    assert len(regions) == len(set(regions))


def test_labels_show_calling_codes_and_examples_are_national() -> None:
    with translation.override("en"):
        assert region_label("CN") == "China +86"
    with translation.override("zh-hans"):
        assert region_label("CN") == "中国 +86"
    assert example_number("CN") == "131 2345 6789"
    assert example_number("GB") == "07400 123456"


def _phone_widget(html: str) -> str:
    return html[html.index('<div class="phone-input"'):html.index("</div>", html.index(
        '<div class="phone-input"'))]


@pytest.mark.django_db
def test_sign_up_page_offers_the_visitors_country_and_stores_e164(db: None) -> None:
    browser = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    widget = _phone_widget(browser.get("/accounts/signup/").content.decode())
    assert re.search(r'<option value="GB" selected data-example="07400 123456">'
                     r"United Kingdom \+44</option>", widget)
    assert 'placeholder="07400 123456"' in widget
    assert widget.index('value="GB"') < widget.index('value="AF"')  # likely ones first
    response = browser.post("/accounts/signup/", {
        "phone_0": "GB", "phone_1": "07700 900123", "password1": PASSWORD,
        "password2": PASSWORD})
    assert response["Location"] == "/accounts/phone/verify/"
    assert User.objects.get(phone="+447700900123")
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    chinese.post("/accounts/signup/", {"phone_0": "CN", "phone_1": "139 1234 5678",
                                       "password1": PASSWORD, "password2": PASSWORD})
    assert User.objects.get(phone="+8613912345678")
    wrong = Client().post("/accounts/signup/", {"phone_0": "GB", "phone_1": "0770",
                                                "password1": PASSWORD, "password2": PASSWORD})
    assert wrong.status_code == 200 and INVALID in wrong.content.decode().replace("&#x27;", "'")


@pytest.mark.django_db
def test_phone_change_page_takes_a_national_number(db: None) -> None:
    user = builders.user("li@example.com", password=PASSWORD, phone="+8613800138000",
                         phone_verified=True, time_zone="Asia/Shanghai")
    browser = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    browser.force_login(user)
    page = browser.get("/accounts/phone/change/").content.decode()
    assert '<option value="CN" selected' in _phone_widget(page)
    browser.post("/accounts/phone/change/", {"phone_0": "CN", "phone_1": "139 1234 5678",
                                              "action_add": ""})
    assert Notification.objects.filter(to="+8613912345678", kind="account_code").exists()


@pytest.mark.django_db
def test_sms_reset_takes_a_national_number(db: None) -> None:
    builders.user(None, password=PASSWORD, phone="+447911123455")
    response = Client().post("/account/reset/sms/", {"phone_0": "GB", "phone_1": "07911 123455"})
    assert response["Location"] == "/account/reset/sms/confirm/"
    assert Notification.objects.filter(to="+447911123455").exists()
    confirm = Client()
    session_page = confirm.get("/account/reset/sms/confirm/")
    assert session_page.status_code == 200
    assert SmsResetRequestForm({"phone_0": "GB", "phone_1": "07911 123455"}).is_valid()


@pytest.mark.django_db
def test_signing_in_with_a_number_as_dialled_at_home(db: None) -> None:
    builders.user(None, password=PASSWORD, phone="+447911123400", phone_verified=True)
    browser = Client(HTTP_ACCEPT_LANGUAGE="en-GB")
    response = browser.post("/accounts/login/", {"login": "07911 123400",
                                                 "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] != "/accounts/login/"
    assert browser.get("/account/").wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_every_spelling_of_a_number_counts_as_that_number(db: None) -> None:
    """Failed sign-ins count per account whatever spelling of the number is typed, so varying
    it cannot get round the limit."""
    owner = builders.user(None, password=PASSWORD, phone="+447911123400")
    with context.request_context(_request("en-GB")):
        keys = {signin_policy.signin_account(spelling) for spelling in
                ("07911 123400", "07911123400", "+44 7911 123400", "0044 7911 123400")}
    assert keys == {f"user:{owner.pk}"}
