"""Account e-mails (confirmation, password reset) name the shop, in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from esimdesk.notifications.models import Notification
from tests import builders

PASSWORD = "correct-horse-battery-42"


def _mail_to(email: str) -> Notification:
    return Notification.objects.filter(to=email).latest("id")


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "hello", "thanks"), [
    ("en", "Hello from esimdesk!", "Thank you for using esimdesk!"),
    ("zh-hans", "您好，这里是 esimdesk！", "感谢您使用 esimdesk！"),
])
def test_account_mails_name_the_shop(db: None, language: str, hello: str, thanks: str) -> None:
    builders.user("li@example.com", language=language, password=PASSWORD)
    Client().post("/accounts/password/reset/", {"email": "li@example.com"})
    reset = _mail_to("li@example.com")
    browser = Client()
    browser.cookies["esimdesk_language"] = language
    browser.post("/accounts/signup/", {"email": "new@example.com", "password1": PASSWORD,
                                       "password2": PASSWORD})
    confirm = _mail_to("new@example.com")
    for mail in (reset, confirm):
        assert hello in mail.body_text and thanks in mail.body_text, mail.body_text
        assert "Hello from !" not in mail.body_text and "使用 ！" not in mail.body_text
        assert "testserver" in mail.body_text  # the shop's public host, under its name
        assert mail.subject.startswith("esimdesk · ")


@pytest.mark.django_db
def test_the_shop_name_is_a_setting(db: None, settings: Any) -> None:
    settings.SITE_NAME = "Roam Easy"
    settings.ACCOUNT_EMAIL_SUBJECT_PREFIX = "Roam Easy · "
    builders.user("li@example.com", language="en", password=PASSWORD)
    Client().post("/accounts/password/reset/", {"email": "li@example.com"})
    assert "Hello from Roam Easy!" in _mail_to("li@example.com").body_text
