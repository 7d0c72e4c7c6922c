"""Buying as a guest with only an e-mail address: an account is made for it (no password,
address unconfirmed), the order is placed and paid exactly as a signed-in traveller's, and
the receipt carries a one-time link to choose a password. An address that already has an
account is answered alike; its order goes on that account, its receipt only to it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.esims.models import Esim
from esimdesk.notifications.models import Notification
from esimdesk.orders.models import Order
from tests.builders import DAY, make_group_plans
from tests.conftest import run_tasks, verified_email
from tests.e2e.test_journey_portal import pay_in_sandbox

PASSWORD = "correct-horse-battery-42"
GUEST = f"/checkout/guest/?plan={DAY}&currency=USD"


@pytest.fixture(autouse=True)
def _shop(shop: Any) -> None:
    pass


def buy_as_guest(client: Client, email: str, outcome: str = "approve") -> str:
    """The guest checkout through the sandbox's page; returns the page the guest lands on."""
    form = client.get(GUEST)
    assert form.status_code == 200
    total = form.context["total"].amount
    placed = client.post("/checkout/guest/", {"plan": DAY, "currency": "USD", "email": email,
                                              "provider": "sandbox", "expected_total": total})
    landing = pay_in_sandbox(client, placed, outcome=outcome)
    assert landing.startswith("/checkout/guest/")
    return landing


def receipt_to(email: str) -> Notification:
    return Notification.objects.get(to=email, kind="order_confirmation")


def set_password_link(body: str) -> str:
    found = re.search(r"http://testserver(/account/set-password/\S+/)", body)
    return found.group(1) if found else ""


def neutral(html: str) -> str:
    """A page as a visitor compares it: without the order number and the CSRF token."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r"ED-[A-Z0-9]+", "N", html)


@pytest.mark.django_db
def test_a_guest_buys_with_an_email_gets_the_receipt_and_sets_a_password_once() -> None:
    client = Client()
    # Bad input is a form error on the page, and nothing is made.
    bad = client.post("/checkout/guest/", {"plan": DAY, "currency": "USD",
                                           "email": "not-an-address", "provider": "sandbox"})
    assert bad.status_code == 400
    assert "That is not a valid e-mail address." in bad.content.decode()
    assert not User.objects.filter(email="not-an-address").exists()
    assert not Order.objects.exists()

    landing = buy_as_guest(client, "Guest@Example.com")
    guest = User.objects.get(email__iexact="guest@example.com")
    assert not guest.has_usable_password()
    assert not guest.emailaddress_set.get().verified
    order = Order.objects.get(user=guest)
    assert order.status == "paid"
    page = client.get(landing).content.decode()
    assert "your payment went through" in page and "guest@example.com" in page.lower()
    assert client.get("/dashboard/").status_code == 302  # the guest is not signed in

    run_tasks()
    order.refresh_from_db()
    assert order.status == "fulfilled"
    esim = Esim.objects.get(owner=guest)
    mail = receipt_to(guest.email)
    assert esim.matching_id in mail.body_text  # the install details
    assert mail.attachments  # the PDF receipt
    link = set_password_link(mail.body_text)
    assert link and link in mail.body_html

    # The link: a form error for a mismatch, then the password is set and the guest signed in.
    browser = Client()
    assert browser.get(link).status_code == 200
    mismatch = browser.post(link, {"password1": "brand-new-secret-77",
                                   "password2": "brand-new-secret-78"})
    assert mismatch.status_code == 400
    assert "You must type the same password each time." in mismatch.content.decode()
    weak = browser.post(link, {"password1": "123", "password2": "123"})
    assert weak.status_code == 400
    done = browser.post(link, {"password1": "brand-new-secret-77",
                               "password2": "brand-new-secret-77"})
    assert done.status_code == 302 and done["Location"] == "/dashboard/"
    assert esim.iccid in browser.get("/dashboard/").content.decode()
    guest.refresh_from_db()
    assert guest.check_password("brand-new-secret-77")
    assert guest.emailaddress_set.get().verified  # the link came by e-mail
    # It works once.
    assert Client().get(link).status_code == 400
    assert Client().post(link, {"password1": "stolen-secret-99",
                                "password2": "stolen-secret-99"}).status_code == 400
    guest.refresh_from_db()
    assert guest.check_password("brand-new-secret-77")
    # And now the guest signs in like anyone.
    assert Client().post("/accounts/login/", {"login": "guest@example.com",
                                              "password": "brand-new-secret-77"}
                         )["Location"] == "/dashboard/"


@pytest.mark.django_db
def test_an_address_with_an_account_is_answered_alike_and_only_its_owner_is_mailed() -> None:
    owner = User.objects.create_user("owner@example.com", PASSWORD)
    verified_email(owner)
    stranger, newcomer = Client(), Client()
    taken = stranger.get(buy_as_guest(stranger, "OWNER@example.com")).content.decode()
    fresh = newcomer.get(buy_as_guest(newcomer, "ownex@example.com")).content.decode()
    assert neutral(taken).replace("OWNER@example.com", "X").replace("owner@example.com", "X") \
        == neutral(fresh).replace("ownex@example.com", "X")
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1
    order = Order.objects.get(user=owner)
    run_tasks()
    mail = receipt_to("owner@example.com")
    assert not set_password_link(mail.body_text)  # the owner has a password
    assert owner.check_password(PASSWORD)
    # The stranger sees the order's state, never the account nor the eSIM's install data.
    page = stranger.get(f"/checkout/guest/{order.number}/").content.decode()
    assert "/esims/" not in page and "LPA:" not in page
    assert stranger.get(f"/orders/{order.number}/").status_code == 302


@pytest.mark.django_db
def test_a_declined_guest_payment_offers_to_try_again_and_other_browsers_see_nothing() -> None:
    client = Client()
    landing = buy_as_guest(client, "decline@example.com", outcome="decline")
    page = client.get(landing).content.decode()
    assert "did not go through" in page and GUEST.replace("&", "&amp;") in page
    assert Client().get(landing).status_code == 404


@pytest.mark.django_db
def test_guest_checkouts_are_limited_like_sign_ups() -> None:
    client = Client()
    for _ in range(5):  # five reset-style links an hour to one address
        placed = client.post("/checkout/guest/", {"plan": DAY, "currency": "USD",
                                                  "email": "many@example.com",
                                                  "provider": "sandbox"})
        assert placed.status_code == 302
    refused = client.post("/checkout/guest/", {"plan": DAY, "currency": "USD",
                                               "email": "many@example.com",
                                               "provider": "sandbox"})
    assert refused.status_code == 400 and "Too many attempts" in refused.content.decode()
    assert Order.objects.count() == 5


@pytest.mark.django_db
def test_only_personal_plans_are_sold_to_guests_and_signed_in_travellers_go_to_checkout(
        ) -> None:
    family, team = make_group_plans()
    for plan in (family, team):
        page = Client().get(f"/checkout/guest/?plan={plan.code}&currency=USD")
        assert page.status_code == 400
    signed_in = Client()
    user = User.objects.create_user("in@example.com", PASSWORD)
    signed_in.force_login(user)
    assert signed_in.get(GUEST)["Location"] == f"/checkout/?plan={DAY}&currency=USD"
    # The guest page offers to sign in instead, keeping the plan.
    html = Client().get(GUEST).content.decode()
    assert "/accounts/login/?next=%2Fcheckout%2F%3Fplan%3D" in html
