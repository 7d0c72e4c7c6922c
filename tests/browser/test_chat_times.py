"""In a real browser whose own time zone (UTC) is not the user's (Asia/Shanghai), a message
the chat script adds reads exactly like the same message written by the server."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.support import conversations
from esimdesk.support.models import Message
from tests.browser.conftest import PHONE, base_url, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "zone", "browser_zone", "asked", "answered"), [
    ("zh-hans", "Asia/Shanghai", "UTC", "2026年12月7日 19:53", "2026年12月7日 19:55"),
    ("en", "Europe/London", "Asia/Shanghai", "7 Dec 2026, 11:53", "7 Dec 2026, 11:55"),
    ("en", "America/New_York", "Europe/Berlin", "Dec 7, 2026, 6:53 AM",
     "Dec 7, 2026, 6:55 AM")])
def test_script_and_server_agree_on_chat_times(browser: Any, live_server: Any, language: str,
                                               zone: str, browser_zone: str, asked: str,
                                               answered: str) -> None:
    base = base_url(live_server)
    customer = User.objects.create_user(f"t-{language}@example.com", "x-long-password-1",
                                        language=language, time_zone=zone)
    clock.set_now(dt.datetime(2026, 12, 7, 11, 53, tzinfo=dt.UTC))
    conversations.post_customer_message(customer=customer, body="?")
    message = Message.objects.get()
    client = Client()
    client.force_login(customer)
    context = browser.new_context(timezone_id=browser_zone, viewport=PHONE,
                                  locale="en-US" if language == "en" else "zh-CN")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": base}])
    page = context.new_page()
    # The agent's reply two minutes later arrives through the script (polled, no socket).
    reply = {"id": message.pk + 1, "conversation": message.conversation_id,
             "sender": "agent", "author": "Mei", "body": "!", "attachment": None,
             "created_at": "2026-12-07T11:55:00+00:00"}
    page.route("**/support/chat/messages.json*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"messages": [reply]})))
    page.goto(f"{base}/support/chat/")
    served = page.locator(f'[data-id="{message.pk}"] time').inner_text()
    added = page.locator(f'[data-id="{message.pk + 1}"] time')
    added.wait_for(timeout=10000)
    assert (served, added.inner_text()) == (asked, answered)
    shot(page, f"chat-times-{language}-phone")
