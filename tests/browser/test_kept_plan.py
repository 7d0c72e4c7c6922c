"""A visitor's chosen plan survives sign-up in a real browser, in English and in Chinese:
plan page → *Buy this plan* → the sign-in page shows the plan → *sign up* → the mailed
confirmation link → the same plan's checkout. And the guest checkout, through to paid."""

from __future__ import annotations

import re
from typing import Any

import pytest

from esimdesk.orders.models import Order
from tests.browser.conftest import DESKTOP, PHONE, shot
from tests.builders import DAY
from tests.conftest import mailed_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-42"


def _both_sizes(page: Any, name: str) -> None:
    for size, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        shot(page, f"{name}-{label}")
    page.set_viewport_size(PHONE)


@pytest.mark.parametrize(("language", "locale", "words"), [
    ("en", "en-GB", {"kept": "Your chosen plan", "plan": "Japan 1 GB / day"}),
    ("zh-hans", "zh-CN", {"kept": "您选择的套餐", "plan": "日本 每日 1 GB"}),
])
def test_a_chosen_plan_survives_sign_up(browser: Any, site: str, shop: Any, language: str,
                                        locale: str, words: dict[str, str]) -> None:
    context = browser.new_context(locale=locale, viewport=PHONE)
    page = context.new_page()
    email = f"keeper-{language}@example.com"

    page.goto(f"{site}/plans/{DAY}/?currency=EUR")
    page.locator(f'a.button[href*="/checkout/?plan={DAY}"]').click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    kept = page.locator("aside.kept")
    assert words["kept"] in kept.inner_text() and words["plan"] in kept.inner_text()
    _both_sizes(page, f"kept-{language}-1-signin")

    page.locator('main a[href^="/accounts/signup/?next="]').first.click()
    page.wait_for_url(re.compile(r"/accounts/signup/\?next="))
    assert words["plan"] in page.locator("aside.kept").inner_text()
    page.fill('input[name="email"]', email)
    page.fill('input[name="password1"]', PASSWORD)
    page.fill('input[name="password2"]', PASSWORD)
    _both_sizes(page, f"kept-{language}-2-signup")
    page.locator('form[action="/accounts/signup/"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))

    page.goto(f"{site}/accounts/confirm-email/{mailed_key(email)}/")  # the mailed link
    page.locator('main form button[type="submit"]').first.click()
    page.wait_for_url(re.compile(rf"/checkout/\?plan={DAY}&currency=EUR"))
    assert page.locator("html").get_attribute("lang") == ("en" if language == "en"
                                                          else "zh-Hans")
    assert words["plan"] in page.content() and "2.99" in page.content()
    _both_sizes(page, f"kept-{language}-3-checkout")
    context.close()


@pytest.mark.parametrize(("language", "locale"), [("en", "en-GB"), ("zh-hans", "zh-CN")])
def test_a_guest_buys_with_an_email_address(browser: Any, site: str, shop: Any,
                                            language: str, locale: str) -> None:
    context = browser.new_context(locale=locale, viewport=PHONE)
    page = context.new_page()
    page.goto(f"{site}/checkout/?plan={DAY}&currency=USD")
    page.locator('aside.kept a[href^="/checkout/guest/"]').click()
    page.wait_for_url(re.compile(r"/checkout/guest/\?"))
    page.fill('input[name="email"]', "not-an-address")
    page.locator('form[action="/checkout/guest/"] button[type="submit"]').click()
    page.wait_for_load_state()
    assert page.locator(".errorlist").is_visible()
    _both_sizes(page, f"guest-{language}-1-error")
    page.fill('input[name="email"]', f"guest-{language}@example.com")
    page.locator('input[name="provider"][value="sandbox"]').check()
    page.locator('form[action="/checkout/guest/"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator('button[name="outcome"][value="approve"]').click()
    page.wait_for_url(re.compile(r"/checkout/guest/ED-"))
    assert f"guest-{language}@example.com" in page.content()
    _both_sizes(page, f"guest-{language}-2-paid")
    assert Order.objects.get(user__email=f"guest-{language}@example.com").status == "paid"
    context.close()
