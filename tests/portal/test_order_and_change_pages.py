"""The order page offers install only for an eSIM not installed yet and a refund only where
the refund rules allow it, in words that fit what was bought; *Change plan* never offers
the plan running now."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.orders.lines import LineRequest
from esimdesk.orders.models import Order
from tests.builders import DAY, MONTH, Shop, bought_esim, buy, in_use
from tests.builders import user as new_user

pytestmark = pytest.mark.django_db
INSTALL = ">Install your eSIM<"
REFUND_FORM = "/refund/"
NEW_ESIM_NOTE = "Not installed yet and changed your mind?"
RENEWAL_NOTE = "This plan has not started yet. Changed your mind?"


def page(owner: User, path: str) -> str:
    client = Client()
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def order_page(order: Order) -> str:
    return page(order.user, f"/orders/{order.number}/")


def test_install_is_the_main_action_only_until_the_esim_is_installed(shop: Shop) -> None:
    buyer = new_user("installer@example.com")
    esim = bought_esim(buyer, shop.month)
    order = Order.objects.get(lines__esim=esim)
    html = order_page(order)
    assert INSTALL in html and f'href="/esims/{esim.iccid}/#install"' in html
    assert NEW_ESIM_NOTE in html  # not installed: the money can come back
    in_use(esim)
    html = order_page(order)
    assert INSTALL not in html
    assert ">View eSIM<" in html and f'href="/esims/{esim.iccid}/renew/"' in html
    assert NEW_ESIM_NOTE not in html and REFUND_FORM not in html


def test_a_renewal_of_an_esim_in_use_is_never_offered_as_not_installed(shop: Shop) -> None:
    buyer = new_user("renewer@example.com")
    esim = in_use(bought_esim(buyer, shop.month))
    queued = buy(buyer, LineRequest(type="renewal", iccid=esim.iccid, plan=MONTH))
    html = order_page(queued)
    # queued behind the running plan, nothing of it used: the rules allow a refund
    assert RENEWAL_NOTE in html and NEW_ESIM_NOTE not in html
    assert f"/orders/{queued.number}{REFUND_FORM}" in html
    assert INSTALL not in html

    clock.advance(dt.timedelta(days=70))  # both plans over: a renewal now starts at once
    started = buy(buyer, LineRequest(type="renewal", iccid=esim.iccid, plan=DAY))
    html = order_page(started)
    assert f"/orders/{started.number}{REFUND_FORM}" not in html
    assert NEW_ESIM_NOTE not in html and RENEWAL_NOTE not in html


def test_change_plan_leaves_out_the_plan_running_now(shop: Shop) -> None:
    buyer = new_user("changer@example.com")
    esim = in_use(bought_esim(buyer, shop.month))
    html = page(buyer, f"/esims/{esim.iccid}/change-plan/")
    assert f"plan={MONTH}&amp;" not in html
    assert f"plan={DAY}&amp;" in html
