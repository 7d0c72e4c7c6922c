"""Every e-mail kind, in English and Chinese and in several time zones, writes dates the
reader's way: no doubled full stop after a time ("7:53 p.m.."), no raw IANA zone name
("Europe/London"), no "(UTC)"; a time carries its zone in words ("London time")."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from esimdesk.accounts.models import User
from esimdesk.notifications.models import Channel
from esimdesk.notifications.rendering import render_message
from tests.notifications.test_plain_text import _contexts, _templates

RAW_ZONE = re.compile(r"\b[A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+")
READERS = [("en", "Europe/London", "London time"),
           ("en", "America/Toronto", "Toronto time"),  # en_CA writes "7:53 p.m."
           ("en", "UTC", "Coordinated Universal Time"),
           ("zh-hans", "Asia/Shanghai", "上海时间"),
           ("zh-hans", "UTC", "协调世界时")]
WITH_TIMES = {"activation_reminder", "expiry_reminder", "order_confirmation",
              "pool_activation_reminder", "pool_expiry_reminder"}


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "zone", "zone_words"), READERS)
@pytest.mark.parametrize("template", _templates())
def test_every_email_writes_dates_and_zones_for_people(
        make_user: Callable[..., User], template: str, language: str, zone: str,
        zone_words: str) -> None:
    user = make_user(name="Pat", language=language, time_zone=zone)
    rendered = render_message(user=user, template=template, context=_contexts()[template],
                              channels=[Channel.EMAIL, Channel.SMS, Channel.INAPP])
    email = rendered[Channel.EMAIL]
    for text in (email.subject, email.text, email.html, rendered[Channel.SMS].text,
                 rendered[Channel.INAPP].text):
        assert ".." not in text, (template, text)
        assert "p.m.." not in text and "a.m.." not in text
        assert not RAW_ZONE.search(text), (template, RAW_ZONE.search(text))
        assert "(UTC)" not in text and "（UTC）" not in text
    if template in WITH_TIMES:
        assert zone_words in email.text, (template, email.text)


@pytest.mark.django_db
def test_the_expiry_reminder_in_canadian_english_ends_its_sentence_once(
        make_user: Callable[..., User]) -> None:
    user = make_user(language="en", time_zone="America/Toronto")
    text = render_message(user=user, template="expiry_reminder",
                          context=_contexts()["expiry_reminder"],
                          channels=[Channel.EMAIL])[Channel.EMAIL].text
    # 2026-05-08 12:00 UTC is 8:00 a.m. in Toronto.
    assert "May 8, 2026, 8:00 a.m. (Toronto time)." in text


@pytest.mark.django_db
def test_the_reminder_in_chinese_reads_the_chinese_way(make_user: Callable[..., User]) -> None:
    user = make_user(language="zh-hans", time_zone="Europe/London")
    text = render_message(user=user, template="expiry_reminder",
                          context=_contexts()["expiry_reminder"],
                          channels=[Channel.EMAIL])[Channel.EMAIL].text
    assert "2026年5月8日 13:00（伦敦时间）" in text
