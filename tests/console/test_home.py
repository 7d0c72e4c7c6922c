"""The console's home page: the figures for today, 7 and 30 days, each a link to its list,
in a number of queries that does not grow with the orders; role-aware landing and
navigation by task."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from esimdesk.core import clock
from tests import builders
from tests.console.conftest import member
from tests.figures.test_query_count import NOW, add_business

pytestmark = pytest.mark.django_db


def figure(html: str, name: str) -> str:
    """The text of the figure card ``data-figure=name``, tags and spaces squeezed."""
    match = re.search(rf'data-figure="{name}">(.*?)</(?:a|div)>\s*(?:<a|<div|</section)',
                      html, re.S)
    assert match, name
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def home(client: Client, window: str = "1d") -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/staff/?window={window}")
    assert response.status_code == 200
    return response.content.decode(), len(captured.captured_queries)


def test_the_home_page_counts_what_happened_in_the_same_queries_for_ten_or_ten_thousand(
        ) -> None:
    clock.set_now(NOW)
    builders.exchange_rates(("USD", "CNY", "7.0"))
    _user, boss = member("boss@example.com", "admin")
    add_business(10, 0)
    html, few = home(boss)
    assert figure(html, "orders_paid").startswith("Paid orders 10")
    # 5 USD orders 1000..1008 (even n) and 5 CNY orders; CNY at 7 per USD.
    assert "$50.20" in figure(html, "revenue") and "CN¥50.25" in figure(html, "revenue")
    assert figure(html, "refunds").startswith("Refunds 1")
    add_business(9_990, 10)
    html, many = home(boss)
    assert many == few, (few, many)
    assert figure(html, "orders_paid").startswith("Paid orders 10000")
    assert "3333 waiting · 3333 failed" in figure(html, "activations")
    assert figure(html, "refunds").startswith("Refunds 1000")
    # Seven and thirty days: the same orders (paid two hours ago), their own trend buckets.
    for window in ("7d", "30d"):
        html, queries = home(boss, window)
        assert queries == few and figure(html, "orders_paid").startswith("Paid orders 10000")


def test_each_figure_links_to_the_filtered_list_behind_it() -> None:
    clock.set_now(NOW)
    _user, boss = member("boss@example.com", superuser=True)
    add_business(10, 0)
    html, _queries = home(boss)
    links = set(re.findall(r'href="(/staff/[^"]*\?[^"]*)"', html))
    assert any("paid_at__gte" in link for link in links)
    for link in links:
        link = link.replace("&amp;", "&")
        response = boss.get(link)
        assert response.status_code == 200, link
        assert "?e=1" not in response.get("Location", ""), link
    orders = boss.get(next(link for link in links if "orders/order" in link).replace(
        "&amp;", "&")).content.decode()
    assert "10 orders" in orders


def test_an_agent_lands_on_the_support_queue_finance_on_money_admins_on_the_figures(
        ) -> None:
    _user, agent = member("agent@example.com", "agent")
    landed = agent.get("/staff/")
    assert landed.status_code == 302 and landed["Location"] == reverse("support_inbox:inbox")
    _user, finance = member("finance@example.com", "finance")
    landed = finance.get("/staff/")
    assert landed.status_code == 302 and landed["Location"] == reverse("console_money")
    _user, nobody = member("nobody@example.com")
    page = nobody.get("/staff/")
    assert page.status_code == 200 and 'data-figure' not in page.content.decode()
    _user, boss = member("boss@example.com", "admin")
    assert 'data-figure="margin"' in boss.get("/staff/?window=30d").content.decode()


def nav(client: Client, path: str) -> list[str]:
    return re.findall(r'data-nav="([a-z]+)"', client.get(path).content.decode())


def test_the_navigation_offers_each_role_its_tasks_and_data_only_to_admins() -> None:
    _user, agent = member("agent@example.com", "agent")
    _user, finance = member("finance@example.com", "finance")
    _user, boss = member("boss@example.com", "admin")
    assert nav(agent, "/staff/support/") == [
        "customers", "orders", "activations", "support", "refunds", "messages", "usage",
        "alerts", "audit"]
    assert nav(finance, "/staff/margins/") == [
        "money", "customers", "orders", "activations", "renewals", "refunds", "margins",
        "invoices", "alerts", "audit"]
    assert nav(boss, "/staff/") == [
        "home", "money", "customers", "orders", "activations", "support", "renewals", "refunds",
        "catalog", "suppliers", "margins", "invoices", "messages", "usage", "alerts",
        "settings", "audit", "data"]
    # The raw admin index is "Data", for admins; its model pages keep their URLs and names.
    assert boss.get(reverse("console_data")).status_code == 200
    assert "Es2 plan records" not in boss.get("/staff/").content.decode()
    assert agent.get(reverse("console_data")).status_code == 403
    assert boss.get(reverse("admin:orders_order_changelist")).status_code == 200
    assert reverse("admin:index") == "/staff/"


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    response = Client().get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")


def test_staff_signing_in_on_the_portal_land_in_the_console() -> None:
    staff, _client = member("boss@example.com", "admin")
    builders_user = builders.user("li@example.com")
    for email, landing in ((staff.email, "/staff/"), (builders_user.email, "/dashboard/")):
        user = type(staff).objects.get(email=email)
        user.set_password("correct-horse-battery-42")
        user.save()
        client = Client()
        client.get("/accounts/login/")
        response = client.post("/accounts/login/", {"login": email,
                                                     "password": "correct-horse-battery-42"})
        assert response.status_code == 302 and response["Location"] == landing, email
