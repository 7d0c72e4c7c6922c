"""The renewal journey through the portal pages, and every page in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.orders.models import Order
from esimdesk.subscriptions.models import Period
from tests.builders import DAY, MONTH, Shop, regional_plan
from tests.conftest import mailed_key, run_tasks

PASSWORD = "correct-horse-battery-42"


def pay_in_sandbox(client: Client, response, outcome: str = "approve") -> str:
    """Follow the checkout redirect to the sandbox page and press a button there."""
    assert response.status_code == 302, response.content[:500]
    page_url = response["Location"].replace("http://testserver", "")
    assert page_url.startswith("/pay/sandbox/")
    page = client.get(page_url)
    assert page.status_code == 200
    done = client.post(page_url, {"outcome": outcome, "decline_code": "card_declined"})
    assert done.status_code == 302
    assert done["Location"].startswith("/pay/return/")
    back = client.get(done["Location"])  # the return URL asks the provider, then shows the order
    assert back.status_code == 302
    return back["Location"]


@pytest.mark.django_db
def test_portal_journey_sign_up_buy_install_renew(shop: Shop) -> None:
    clock.set_now(dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC))
    client = Client()
    assert client.post("/accounts/signup/", {"email": "ana@example.com", "password1": PASSWORD,
                                             "password2": PASSWORD}).status_code == 302
    link = f"/accounts/confirm-email/{mailed_key('ana@example.com')}/"
    assert client.post(link).status_code == 302
    assert client.get("/?q=japan").status_code == 302
    country = client.get("/destinations/JP/?currency=CNY")
    assert MONTH in country.content.decode()
    plan = client.get(f"/plans/{MONTH}/")
    assert "¥" in plan.content.decode()

    order_url = pay_in_sandbox(client, client.post("/checkout/", {
        "plan": MONTH, "currency": "CNY", "provider": "sandbox"}))
    preparing = client.get(order_url)
    assert b'http-equiv="refresh"' in preparing.content
    run_tasks()
    order_page = client.get(order_url).content.decode()
    esim = Esim.objects.get()
    assert f"/esims/{esim.iccid}/" in order_page

    page = client.get(f"/esims/{esim.iccid}/").content.decode()
    assert "<svg" in page
    assert esim.matching_id in page
    assert "esimsetup.apple.com" in page
    # A month from 31 January ends on the last day of February.
    first = Period.objects.get()
    assert first.ends_at == dt.datetime(2026, 2, 28, 9, 0, tzinfo=dt.UTC)

    label = client.post(f"/esims/{esim.iccid}/label/", {"label": "Travel phone"})
    assert label.status_code == 302
    assert "Travel phone" in client.get("/dashboard/").content.decode()

    renew = client.get(f"/esims/{esim.iccid}/renew/")
    assert renew.status_code == 200
    assert f"/checkout/?plan={MONTH}&amp;iccid={esim.iccid}" in renew.content.decode()
    preview = client.get(f"/checkout/?plan={MONTH}&iccid={esim.iccid}&currency=CNY")
    # The preview shows when the renewal will run: from the current end, a month on.
    assert preview.context["starts_at"] == first.ends_at
    assert preview.context["total"].amount == 12900
    assert "¥129.00" in preview.content.decode()
    pay_in_sandbox(client, client.post("/checkout/", {
        "plan": MONTH, "iccid": esim.iccid, "currency": "CNY",
        "provider": "sandbox"}))
    run_tasks()
    second = Period.objects.get(sequence=2)
    assert second.starts_at == first.ends_at

    orders = client.get("/orders/").content.decode()
    numbers = list(Order.objects.values_list("number", flat=True))
    assert all(number in orders for number in numbers)
    assert orders.count("¥") >= 2
    receipt = client.get(f"/orders/{numbers[0]}/receipt.pdf")
    assert receipt["Content-Type"] == "application/pdf"


@pytest.mark.django_db
def test_declined_payment_shows_reason_and_offers_to_pay_again(shop: Shop) -> None:
    client = Client()
    client.force_login(User.objects.create_user("dee@example.com", PASSWORD))
    order_url = pay_in_sandbox(client, client.post("/checkout/", {
        "plan": DAY, "currency": "EUR", "provider": "sandbox"}), outcome="decline")
    page = client.get(order_url).content.decode()
    assert "declined" in page
    assert "/pay/" in page
    run_tasks()
    assert not Esim.objects.exists()
    number = Order.objects.get().number
    order_url = pay_in_sandbox(client, client.post(f"/orders/{number}/pay/",
                                                   {"provider": "sandbox"}))
    run_tasks()
    assert Order.objects.get().status == "fulfilled"
    assert Esim.objects.count() == 1


@pytest.mark.django_db
def test_checkout_with_bad_input_shows_an_error_and_changes_nothing(shop: Shop) -> None:
    client = Client()
    client.force_login(User.objects.create_user("eve@example.com", PASSWORD))
    response = client.post("/checkout/", {"plan": "no-such-plan", "currency": "USD",
                                          "provider": "sandbox"}, follow=True)
    assert "There is no such plan." in response.content.decode()
    response = client.post("/checkout/", {"plan": DAY, "currency": "USD",
                                          "iccid": "8999001000000000012",
                                          "provider": "sandbox"}, follow=True)
    assert "no such eSIM" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_checkout_page_needs_sign_in_and_refuses_unknown_plans(shop: Shop) -> None:
    client = Client()
    response = client.get(f"/checkout/?plan={DAY}&currency=USD")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    client.force_login(User.objects.create_user("fay@example.com", PASSWORD))
    ok = client.get(f"/checkout/?plan={DAY}&currency=USD")
    assert ok.status_code == 200 and "$2.99" in ok.content.decode()
    missing = client.get("/checkout/?plan=moon-1gb&currency=USD")
    assert missing.status_code == 400
    assert "There is no such plan." in missing.content.decode()
    wrong = client.post("/checkout/", {"plan": DAY, "currency": "USD",
                                       "provider": "bank-transfer"})
    assert wrong.status_code == 400
    assert not Order.objects.exists()


PUBLIC_PAGES = ["/", "/destinations/JP/", "/regions/europe/", "/regions/global/",
                f"/plans/{DAY}/", "/accounts/login/", "/accounts/signup/",
                "/account/reset/sms/", "/account/reset/sms/confirm/",
                "/accounts/password/reset/"]
CUSTOMER_PAGES = ["/dashboard/", "/orders/", "/account/", "/accounts/email/",
                  "/accounts/password/change/"]


@pytest.mark.parametrize(("language", "marker"), [("en", "My eSIMs"), ("zh-hans", "我的 eSIM")])
@pytest.mark.django_db
def test_every_page_renders_in_both_languages(shop: Shop, language: str, marker: str) -> None:
    from tests.conftest import Api
    from tests.e2e.helpers import buy_and_pay, post_order

    regional_plan("europe", usd=2799, data_gb=20)
    regional_plan("global", countries=("JP", "FR", "US"), usd=3999, data_gb=10)
    client = Client()
    client.cookies["esimdesk_language"] = language
    for url in PUBLIC_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert ('lang="zh-Hans"' in html) == (language == "zh-hans"), url

    # A customer with an eSIM, a paid order and an unpaid one (bought through the API).
    api = Api.signup(f"owner-{language}@example.com")
    paid = buy_and_pay(api, DAY)
    unpaid = post_order(api, MONTH)
    owner = User.objects.get(email=f"owner-{language}@example.com")
    owner.language = language
    owner.save()
    client.force_login(owner)
    iccid = paid["lines"][0]["iccid"]
    pages = [*CUSTOMER_PAGES, f"/esims/{iccid}/", f"/esims/{iccid}/renew/",
             f"/checkout/?plan={DAY}&iccid={iccid}", f"/checkout/?plan={MONTH}",
             f"/orders/{paid['id']}/", f"/orders/{unpaid['id']}/",
             unpaid["payment"]["next_action"]["url"].replace("http://testserver", "")]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert ('lang="zh-Hans"' in html) == (language == "zh-hans"), url
        assert marker in html, url
        if language == "zh-hans":
            assert "Validity and balance" not in html and "Orders and receipts" not in html
