"""The one-tap confirmation page: Renew / Top up from the dashboard and the eSIM page open it
for a traveller with a saved card; "Pay now" charges the card off-session, once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.orders.models import Order
from esimdesk.orders.services import LineRequest
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment, SavedMethod
from esimdesk.sandbox.models import SandboxRecord
from esimdesk.subscriptions.models import Period
from tests import builders
from tests.builders import MONTH, TOPUP_1GB, Shop
from tests.conftest import run_tasks, verified_email


def traveller(card: str = "4242", save: bool = True,
              language: str = "en") -> tuple[User, Any, Client]:
    user = builders.user("page-tap@example.com")
    user.language = language
    user.save()
    verified_email(user)
    placed = checkout.place_order(user=user, currency="USD", method="sandbox", save_method=save,
                                  lines=[LineRequest(type="new_esim", plan=MONTH)])
    assert placed.payment is not None
    payments.complete_sandbox_payment(user=user, payment_id=placed.payment.public_id,
                                      outcome="approve", card=card)
    run_tasks()
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    session = client.session
    session["currency"] = "USD"
    session.save()
    return user, placed.order.lines.get().esim, client


def form_of(html: str) -> dict[str, str]:
    """The hidden fields of the page's form (the CSRF token differs per page)."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_dashboard_and_esim_page_open_the_confirmation(shop: Shop) -> None:
    _user, esim, client = traveller()
    for page in ("/dashboard/", f"/esims/{esim.iccid}/"):
        html = client.get(page).content.decode()
        assert f"/esims/{esim.iccid}/renew/confirm/" in html
        assert f"/esims/{esim.iccid}/top-up/confirm/" in html


def test_without_a_saved_method_the_buttons_open_the_choice_pages(shop: Shop) -> None:
    _user, esim, client = traveller(save=False)
    html = client.get("/dashboard/").content.decode()
    assert "/renew/confirm/" not in html
    assert f"/esims/{esim.iccid}/renew/" in html
    response = client.get(f"/esims/{esim.iccid}/renew/confirm/")
    assert response.status_code == 302
    assert response["Location"] == f"/esims/{esim.iccid}/renew/"


@pytest.mark.parametrize(("language", "texts"), [
    ("en", ["Renew", "Visa •••• 4242", "Pay now", "Pay another way", "Choose another plan"]),
    ("zh-hans", ["续订", "Visa •••• 4242", "立即支付", "换一种方式支付", "选择其他套餐"]),
])
def test_renewal_in_two_taps(shop: Shop, language: str, texts: list[str]) -> None:
    user, esim, client = traveller(language=language)
    page = client.get(f"/esims/{esim.iccid}/renew/confirm/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in texts:
        assert text in html, text
    assert "$16.99" in html or "US$16.99" in html
    form = form_of(html)
    assert form["method"] == str(SavedMethod.objects.get(user=user).pk)

    paid = client.post(f"/esims/{esim.iccid}/renew/confirm/", form)

    order = Order.objects.filter(user=user).latest("pk")
    assert paid.status_code == 302 and paid["Location"] == f"/orders/{order.number}/"
    assert order.status == "paid"
    assert order.payments.get().off_session
    run_tasks()
    assert Period.objects.filter(subscription__esim=esim).count() == 2


def test_a_double_click_or_a_second_tab_charges_once(shop: Shop) -> None:
    user, esim, client = traveller()
    form = form_of(client.get(f"/esims/{esim.iccid}/renew/confirm/").content.decode())
    second_tab = form_of(client.get(f"/esims/{esim.iccid}/renew/confirm/").content.decode())
    assert form == second_tab
    charges = SandboxRecord.objects.filter(kind="charge").count()

    first = client.post(f"/esims/{esim.iccid}/renew/confirm/", form)
    again = client.post(f"/esims/{esim.iccid}/renew/confirm/", second_tab)

    assert first["Location"] == again["Location"]
    assert SandboxRecord.objects.filter(kind="charge").count() == charges + 1
    assert Order.objects.filter(user=user, lines__type="renewal").count() == 1
    # Shown afresh after paying, the page is a new purchase.
    fresh = form_of(client.get(f"/esims/{esim.iccid}/renew/confirm/").content.decode())
    assert fresh["seen"] != form["seen"]


def test_top_up_in_two_taps(shop: Shop) -> None:
    user, esim, client = traveller()
    html = client.get(f"/esims/{esim.iccid}/top-up/confirm/").content.decode()
    assert "Top up" in html and "Choose another top-up" in html
    form = form_of(html)
    assert form["code"] == TOPUP_1GB
    response = client.post(f"/esims/{esim.iccid}/top-up/confirm/", form)
    order = Order.objects.filter(user=user).latest("pk")
    assert response["Location"] == f"/orders/{order.number}/"
    assert order.lines.get().type == "top_up" and order.status == "paid"


def test_when_the_bank_asks_the_payer_goes_to_the_hosted_page_of_the_same_order(
        shop: Shop) -> None:
    user, esim, client = traveller(card="3155")
    form = form_of(client.get(f"/esims/{esim.iccid}/renew/confirm/").content.decode())
    response = client.post(f"/esims/{esim.iccid}/renew/confirm/", form)
    order = Order.objects.filter(user=user).latest("pk")
    hosted = order.payments.get(status="pending")
    assert response["Location"] == hosted.next_action["url"]
    assert "/pay/sandbox/" in response["Location"]
    # Pressing "Pay now" again goes to the same page: no second order, no second charge.
    again = client.post(f"/esims/{esim.iccid}/renew/confirm/", form)
    assert again["Location"] == response["Location"]
    assert Order.objects.filter(user=user).count() == 2
    assert Payment.objects.filter(order=order, off_session=True).count() == 1


def test_a_price_that_changed_is_refused_with_a_message(shop: Shop) -> None:
    user, esim, client = traveller()
    form = form_of(client.get(f"/esims/{esim.iccid}/renew/confirm/").content.decode())
    form["expected_total"] = "1"
    response = client.post(f"/esims/{esim.iccid}/renew/confirm/", form, follow=True)
    assert response.status_code == 200
    assert b"msg error" in response.content or b'class="msg' in response.content
    assert not Order.objects.filter(user=user, lines__type="renewal").exists()


def test_someone_elses_esim_is_404(shop: Shop) -> None:
    _user, esim, _client = traveller()
    stranger = builders.user("stranger@example.com")
    verified_email(stranger)
    client = Client()
    client.force_login(stranger)
    assert client.get(f"/esims/{esim.iccid}/renew/confirm/").status_code == 404
