"""An order in the console reads as money and cannot be rewritten by hand: amounts as the
reader's currency, lines and payments read-only, no add or delete, and retrying it only for
staff who may change orders."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from esimdesk.core.money import Money
from esimdesk.orders.models import Order
from tests import builders
from tests.console.conftest import member

pytestmark = pytest.mark.django_db


def test_the_orders_list_shows_money_not_minor_units() -> None:
    order = builders.buy(builders.user("li@example.com"),
                         builders.new_esim_line(builders.standard_plan()), currency="CNY")
    _boss, boss = member("boss@example.com", "admin")
    page = boss.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "<h1>Orders</h1>" in page
    money = Money(order.total, order.currency).format("en")
    assert money.startswith("CN¥") and money in page
    assert f">{order.total}<" not in page
    payments = boss.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert money in payments


def test_an_order_page_offers_no_hand_edits() -> None:
    order = builders.buy(builders.user("li@example.com"),
                         builders.new_esim_line(builders.standard_plan()))
    _boss, boss = member("boss@example.com", "admin")
    page = boss.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert Money(order.total, order.currency).format("en") in page
    for hand_edit in ("DELETE", 'name="_save"', "supplier_index"):
        assert hand_edit not in page, hand_edit
    assert 'name="lines-MAX_NUM_FORMS" value="0"' in page  # no line can be added
    assert boss.get(reverse("admin:orders_order_add")).status_code == 403
    assert boss.post(reverse("admin:orders_order_delete", args=[order.pk]),
                     {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


def test_retrying_an_order_is_for_staff_who_may_change_orders() -> None:
    reader, agent = member("reader@example.com")
    reader.user_permissions.add(Permission.objects.get(codename="view_order"))
    _boss, boss = member("boss@example.com", "agent")
    builders.buy(builders.user("li@example.com"),
                 builders.new_esim_line(builders.standard_plan()))
    url = reverse("admin:orders_order_changelist")
    assert "retry_fulfilment" in boss.get(url).content.decode()
    listed = agent.get(url)
    assert listed.status_code == 200 and "retry_fulfilment" not in listed.content.decode()
