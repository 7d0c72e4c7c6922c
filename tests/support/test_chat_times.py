"""Chat times read the same whether the server wrote them (history) or the page's script did
(live messages): both in the user's locale and time zone, never the browser's own zone. A
Chinese customer in Shanghai whose browser runs on UTC once saw the agent's reply 8 hours
before their question."""

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

ASKED = dt.datetime(2026, 12, 7, 11, 53, tzinfo=dt.UTC)  # 19:53 in Shanghai


def _customer(**extra: Any) -> User:
    return User.objects.create_user("mei@example.com", "x-long-password-1", **extra)


def _asked(customer: User) -> Message:
    clock.set_now(ASKED)
    conversations.post_customer_message(customer=customer, body="我在大阪没有信号")
    return Message.objects.get()


@pytest.mark.django_db
def test_the_page_writes_history_in_the_users_zone_and_hands_it_to_the_script() -> None:
    customer = _customer(language="zh-hans", time_zone="Asia/Shanghai")
    _asked(customer)
    client = Client()
    client.force_login(customer)
    page = client.get("/support/chat/").content.decode()
    assert 'data-locale="zh-Hans-CN"' in page and 'data-time-zone="Asia/Shanghai"' in page
    assert '<time datetime="2026-12-07T11:53:00+00:00">2026年12月7日 19:53</time>' in page
    # The script gets the instant with its offset, to format in data-time-zone.
    polled = json.loads(client.get("/support/chat/messages.json?after=0").content)
    assert polled["messages"][0]["created_at"] == "2026-12-07T11:53:00+00:00"


@pytest.mark.django_db
def test_english_in_new_york() -> None:
    customer = _customer(language="en", time_zone="America/New_York")
    _asked(customer)
    client = Client()
    client.force_login(customer)
    page = client.get("/support/chat/").content.decode()
    assert 'data-locale="en-US"' in page and 'data-time-zone="America/New_York"' in page
    assert ">Dec 7, 2026, 6:53 AM</time>" in page
