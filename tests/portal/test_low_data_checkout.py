"""The checkout of a renewal offers to start it when the data runs out, says what that
costs the traveller (the rest of the current plan's days), in English and Chinese, and
places the order that way."""

from __future__ import annotations

import pytest
from django.test import Client

from esimdesk.orders.models import Order
from esimdesk.payments import services as payments
from esimdesk.subscriptions.models import Period
from tests.builders import MONTH, Shop
from tests.conftest import run_tasks
from tests.portal.test_one_tap_page import form_of, traveller


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_renewal_can_start_when_the_data_runs_out(shop: Shop, language: str) -> None:
    user, esim, client = traveller(language=language)
    ordinary = client.get(f"/checkout/?plan={MONTH}&iccid={esim.iccid}&currency=USD")
    page = ordinary.content.decode()
    assert "starts=when_data_runs_out" in page
    if language == "en":
        assert "When should it start?" in page and "When my data runs out" in page
    else:
        assert "什么时候开始？" in page and "流量用完时" in page
    chosen = client.get(f"/checkout/?plan={MONTH}&iccid={esim.iccid}&currency=USD"
                        f"&starts=when_data_runs_out")
    html = chosen.content.decode()
    if language == "en":
        assert "the rest of your current plan&#x27;s days end then" in html
    else:
        assert "当前套餐剩余的天数随即结束" in html
    fields = form_of(html)
    assert fields["starts"] == "when_data_runs_out"
    placed = client.post("/checkout/", {**fields, "provider": "sandbox"})
    assert placed.status_code == 302
    order = Order.objects.filter(user=user).order_by("-id").first()
    assert order is not None
    assert order.lines.get().low_data is True


def test_the_esim_page_says_a_queued_renewal_starts_when_the_data_runs_out(
        shop: Shop) -> None:
    user, esim, client = traveller()
    page = client.get(f"/checkout/?plan={MONTH}&iccid={esim.iccid}&currency=USD"
                      "&starts=when_data_runs_out")
    client.post("/checkout/", {**form_of(page.content.decode()), "provider": "sandbox"})
    order = Order.objects.filter(user=user).order_by("-id").first()
    assert order is not None
    payment = order.payments.get()
    payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                      outcome="approve")
    run_tasks()
    assert Period.objects.get(subscription__esim=esim, sequence=2).starts_on_data_out
    shown = Client()
    shown.force_login(user)
    html = shown.get(f"/esims/{esim.iccid}/").content.decode()
    assert "starts the moment your data runs out" in html
