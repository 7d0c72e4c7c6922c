"""Renewal in two taps, in a real browser, in English and in Chinese: a traveller whose card
is saved taps *Renew* on the dashboard, then *Pay now* on the confirmation page, and the
renewal is paid (off-session) and queued. Screenshots of the dashboard and the confirmation
page on a phone-sized and a desktop-sized viewport."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from esimdesk.orders.models import Order
from esimdesk.orders.services import LineRequest
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.subscriptions.models import Period
from tests import builders
from tests.browser.conftest import DESKTOP, PHONE, shot
from tests.builders import MONTH, Shop
from tests.conftest import run_tasks, verified_email

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "locale", "viewport", "words"), [
    ("en", "en-GB", PHONE, {"renew": "Renew", "pay": "Pay now", "paid": "Paid with"}),
    ("zh-hans", "zh-CN", DESKTOP, {"renew": "续订", "pay": "立即支付", "paid": "已用"}),
])
def test_two_taps_from_the_dashboard_to_a_paid_renewal(
        browser: Any, site: str, shop: Shop, language: str, locale: str,
        viewport: dict[str, int], words: dict[str, str]) -> None:
    user = builders.user(f"tap-{language}@example.com")
    user.language = language
    user.preferred_currency = "USD"
    user.save()
    verified_email(user)
    placed = checkout.place_order(user=user, currency="USD", method="sandbox", save_method=True,
                                  lines=[LineRequest(type="new_esim", plan=MONTH)])
    assert placed.payment is not None
    payments.complete_sandbox_payment(user=user, payment_id=placed.payment.public_id,
                                      outcome="approve")
    run_tasks()
    esim = placed.order.lines.get().esim
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale=locale, viewport=viewport)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": site}])
    page = context.new_page()
    other = DESKTOP if viewport == PHONE else PHONE
    size = {id(PHONE): "phone", id(DESKTOP): "desktop"}

    page.goto(f"{site}/dashboard/")
    for view in (other, viewport):
        page.set_viewport_size(view)
        shot(page, f"{language}-one-tap-1-dashboard-{size[id(view)]}")
    page.get_by_role("link", name=words["renew"], exact=True).first.click()  # tap one
    page.wait_for_url(re.compile(r"/renew/confirm/"))
    assert "Visa •••• 4242" in page.content()
    for view in (other, viewport):
        page.set_viewport_size(view)
        shot(page, f"{language}-one-tap-2-confirm-{size[id(view)]}")
    page.get_by_role("button", name=re.compile(words["pay"])).click()  # tap two
    page.wait_for_url(re.compile(r"/orders/"))
    assert words["paid"] in page.content()
    shot(page, f"{language}-one-tap-3-paid-{size[id(viewport)]}")

    renewal = Order.objects.get(user=user, lines__type="renewal")
    assert renewal.status in ("paid", "fulfilled")
    assert renewal.payments.get().off_session
    run_tasks()
    assert Period.objects.filter(subscription__esim=esim).count() == 2
    context.close()
