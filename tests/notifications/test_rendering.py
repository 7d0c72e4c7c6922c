"""Every message in the recipient's language and time zone; sensible fallbacks per channel."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.template import TemplateDoesNotExist

from esimdesk.accounts.models import User
from esimdesk.notifications import services
from esimdesk.notifications.models import Notification, OutboxMessage
from tests.conftest import run_tasks
from tests.notifications.conftest import context


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_a_chinese_speaker_gets_every_channel_in_chinese_and_shanghai_time(
        make_user: Callable[..., User]) -> None:
    user = make_user(language="zh-hans", time_zone="Asia/Shanghai", name="张伟")
    sent = {n.channel: n for n in services.notify(
        user=user, kind="reminder_expiry", template="test_notice", context=context(),
        dedupe_key="zh")}
    email, sms, inapp = sent["email"], sent["sms"], sent["inapp"]
    assert email.subject == "续订 Japan eSIM"
    assert "张伟，您好" in email.body_text
    assert "已过期: 2026-01-01 08:00" in email.body_text
    assert "已过期: 2026-01-01 08:00" in email.body_html
    assert sms.body_text == "esimdesk: 已过期 2026-01-01 08:00"  # one line
    assert inapp.body_text == "续订 Japan eSIM: 08:00"
    assert {n.language for n in sent.values()} == {"zh-hans"}
    run_tasks()
    assert all(has_chinese(m.subject or m.body_text) for m in OutboxMessage.objects.all())


def test_an_english_speaker_in_new_york_gets_english_and_local_time(
        make_user: Callable[..., User]) -> None:
    user = make_user(time_zone="America/New_York")
    sent = {n.channel: n for n in services.notify(
        user=user, kind="reminder_expiry", template="test_notice", context=context(),
        dedupe_key="en")}
    assert sent["email"].subject == "Renew Japan eSIM"
    assert "Expired: 2025-12-31 19:00" in sent["email"].body_text
    assert sent["inapp"].body_text == "Renew Japan eSIM: 19:00"


def test_the_real_refund_template_renders_in_chinese(
        make_user: Callable[..., User]) -> None:
    from esimdesk.notifications.rendering import render_message

    user = make_user(language="zh-hans")
    rendered = render_message(user=user, template="refund_confirmation", context={},
                              channels=["email"])
    assert has_chinese(rendered["email"].text)


def test_missing_sms_and_in_app_templates_fall_back_to_the_email_subject(
        make_user: Callable[..., User]) -> None:
    user = make_user()
    sent = {n.channel: n for n in services.notify(
        user=user, kind="reminder_low_data", template="test_bare", context=context(),
        dedupe_key="bare")}
    assert sent["sms"].body_text == "Bare subject for Japan eSIM"
    assert sent["inapp"].body_text == "Bare subject for Japan eSIM"
    assert sent["email"].body_html == ""  # no HTML part: a plain-text e-mail


def test_a_template_that_does_not_exist_sends_nothing(make_user: Callable[..., User]) -> None:
    with pytest.raises(TemplateDoesNotExist):
        services.notify(user=make_user(), kind="reminder_expiry", template="no_such_thing",
                        context={}, dedupe_key="none")
    assert not Notification.objects.exists()
