"""A customer and an agent chatting, each in their own browser context: the customer's
message reaches the agent's inbox live (under a second on localhost) and the reply reaches
the customer, in English and in Chinese."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from playwright.sync_api import expect

from esimdesk.accounts.models import User
from tests.browser.conftest import DESKTOP, PHONE, base_url, shot

# PostgreSQL: the live server, the realtime app and the test write at the same moment, which
# the in-memory SQLite test database (shared-cache table locks) refuses instead of waiting.
pytestmark = [pytest.mark.browser, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True)]


def _logged_in(browser: Any, base: str, user: User, **options: Any) -> Any:
    client = Client()
    client.force_login(user)
    context = browser.new_context(**options)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": base}])
    return context


@pytest.mark.parametrize(("language", "locale", "question", "answer"), [
    ("en", "en-GB", "My eSIM shows no service in Osaka", "Please switch data roaming on"),
    ("zh-hans", "zh-CN", "我在大阪没有信号", "请打开数据漫游"),
])
def test_customer_and_agent_chat_live(browser: Any, live_server: Any, realtime: str,
                                      language: str, locale: str, question: str,
                                      answer: str) -> None:
    base = base_url(live_server)
    customer = User.objects.create_user(f"chat-{language}@example.com", "x-long-password-1",
                                        language=language)
    agent = User.objects.create_user(f"agent-{language}@example.com", "x-long-password-1",
                                     is_staff=True, name="Mei", language=language)
    agent.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="support",
        codename__in=["view_conversation", "reply_conversation"]))

    desk = _logged_in(browser, base, agent, locale=locale, viewport=DESKTOP).new_page()
    desk.goto(f"{base}/staff/support/")
    me = _logged_in(browser, base, customer, locale=locale, viewport=PHONE).new_page()
    me.goto(f"{base}/support/chat/")
    # Both sockets are open before the customer writes.
    me.wait_for_function("document.querySelector('[data-ws-path]') !== null")
    desk.wait_for_timeout(300)

    me.fill("textarea", question)
    started = time.monotonic()
    me.locator("form[data-send] button[type=submit]").click()
    expect(desk.get_by_text(question)).to_be_visible(timeout=1000)
    reached_inbox = time.monotonic() - started
    assert reached_inbox < 1.0
    shot(desk, f"chat-{language}-inbox-desktop")

    desk.get_by_text(f"chat-{language}@example.com").first.click()
    desk.wait_for_selector("#reply-body")
    desk.wait_for_timeout(300)  # the conversation's socket opens
    desk.fill("#reply-body", answer)
    desk.locator("form[data-send] input[type=submit]").click()
    expect(me.locator(".bubble.agent").get_by_text(answer)).to_be_visible(timeout=1000)
    shot(desk, f"chat-{language}-conversation-desktop")
    shot(me, f"chat-{language}-customer-phone")
    me.set_viewport_size(DESKTOP)
    shot(me, f"chat-{language}-customer-desktop")
    desk.set_viewport_size(PHONE)
    shot(desk, f"chat-{language}-conversation-phone")
