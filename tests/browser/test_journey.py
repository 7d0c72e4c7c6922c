"""The traveller's journey in a real browser, in English and in Chinese: sign up, buy a plan,
pay in the sandbox, watch the eSIM become ready, open the install page, renew. Each key page
is saved as a screenshot on a phone-sized and a desktop-sized viewport."""

from __future__ import annotations

import re
from typing import Any

import pytest

from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Period
from tests.browser.conftest import DESKTOP, PHONE, shot
from tests.builders import DAY, Shop
from tests.conftest import mailed_key, run_tasks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-42"


def _both_sizes(page: Any, name: str, first: dict[str, int]) -> None:
    """Screenshot at the viewport the journey runs in, then at the other one."""
    other = DESKTOP if first == PHONE else PHONE
    shot(page, f"{name}-{'phone' if first == PHONE else 'desktop'}")
    page.set_viewport_size(other)
    shot(page, f"{name}-{'phone' if other == PHONE else 'desktop'}")
    page.set_viewport_size(first)


def _pay_in_sandbox(page: Any) -> None:
    page.locator('input[name="provider"][value="sandbox"]').check()
    page.locator('form[action="/checkout/"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator('button[name="outcome"][value="approve"]').click()
    page.wait_for_url(re.compile(r"/orders/"))


@pytest.mark.parametrize(("language", "locale", "viewport", "words"), [
    ("en", "en-GB", PHONE, {"ready": "Install your eSIM", "renew": "Renew"}),
    ("zh-hans", "zh-CN", DESKTOP, {"ready": "安装", "renew": "续"}),
])
def test_sign_up_buy_pay_install_renew(browser: Any, site: str, shop: Shop,
                                       language: str, locale: str, viewport: dict[str, int],
                                       words: dict[str, str]) -> None:
    base = site
    context = browser.new_context(locale=locale, viewport=viewport)
    page = context.new_page()
    email = f"browser-{language}@example.com"

    page.goto(f"{base}/accounts/signup/")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password1"]', PASSWORD)
    page.fill('input[name="password2"]', PASSWORD)
    _both_sizes(page, f"{language}-1-signup", viewport)
    page.locator('form[action="/accounts/signup/"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    page.goto(f"{base}/accounts/confirm-email/{mailed_key(email)}/")  # the mailed link
    page.locator('main form button[type="submit"]').first.click()
    page.wait_for_load_state()

    page.goto(f"{base}/plans/{DAY}/?currency=USD")
    assert page.locator("html").get_attribute("lang") == ("zh-Hans" if language != "en" else "en")
    _both_sizes(page, f"{language}-2-plan", viewport)
    page.locator('a.button[href*="/checkout/"]').first.click()
    page.wait_for_url(re.compile(r"/checkout/"))
    _both_sizes(page, f"{language}-3-checkout", viewport)
    _pay_in_sandbox(page)

    # The worker's part (fulfilment), then the page's own script moves on by itself.
    run_tasks()
    install = page.locator('a[href^="/esims/"]').first
    install.wait_for(timeout=10_000)
    assert words["ready"] in page.content()
    _both_sizes(page, f"{language}-4-order-ready", viewport)
    install.click()
    page.wait_for_url(re.compile(r"/esims/\d+/"))
    esim = Esim.objects.get(owner__email=email)
    assert page.locator("svg").first.is_visible()
    assert esim.matching_id in page.content()
    _both_sizes(page, f"{language}-5-install", viewport)

    page.goto(f"{base}/esims/{esim.iccid}/renew/")
    assert words["renew"] in page.content()
    _both_sizes(page, f"{language}-6-renew", viewport)
    page.locator(f'a.button[href*="iccid={esim.iccid}"]').first.click()
    page.wait_for_url(re.compile(r"/checkout/"))
    _pay_in_sandbox(page)
    run_tasks()
    page.reload()
    assert Period.objects.filter(subscription__esim=esim).count() == 2
    _both_sizes(page, f"{language}-7-renewed", viewport)
    # Real, styled pages: the stylesheet loaded and applied.
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background not in ("", "rgba(0, 0, 0, 0)")
    context.close()
