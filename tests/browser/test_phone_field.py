"""The phone field in a real browser (its script and style under the Content-Security-Policy):
the visitor's country is chosen, choosing another shows that country's example number, and a
number typed as dialled at home is stored in E.164. Screenshots on a phone and a desktop."""

from __future__ import annotations

import re
from typing import Any

import pytest

from esimdesk.accounts.models import User
from tests.browser.conftest import DESKTOP, PHONE, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-42"


@pytest.mark.parametrize(("locale", "country", "other", "example", "number", "stored"), [
    ("en-GB", "GB", "CN", "131 2345 6789", "139 1234 5678", "+8613912345678"),
    ("zh-CN", "CN", "GB", "07400 123456", "07700 900123", "+447700900123"),
])
def test_sign_up_with_a_national_number(browser: Any, site: str, locale: str, country: str,
                                        other: str, example: str, number: str,
                                        stored: str) -> None:
    context = browser.new_context(locale=locale, viewport=PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(f"{site}/accounts/signup/")
    assert page.locator("select[name=phone_0]").input_value() == country
    page.select_option("select[name=phone_0]", other)
    assert page.locator("input[name=phone_1]").get_attribute("placeholder") == example
    for size, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        shot(page, f"phone-field-{locale}-{label}")
    page.fill("input[name=phone_1]", number)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator('form[action="/accounts/signup/"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/accounts/phone/verify/"))
    assert User.objects.filter(phone=stored).exists()
    assert not [e for e in errors if "Content Security Policy" in e]
    context.close()
