from __future__ import annotations

import pytest

from esimdesk.accounts.models import User
from esimdesk.notifications import services
from esimdesk.notifications.models import Notification, OutboxMessage
from tests.builders import DAY, Shop
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay


@pytest.mark.django_db
def test_confirmation_in_the_customers_language_with_pdf_receipt(shop: Shop) -> None:
    api = Api.signup("zhang@example.com")
    User.objects.filter(email="zhang@example.com").update(language="zh-hans",
                                                          time_zone="Asia/Shanghai")
    order = buy_and_pay(api, DAY, currency="CNY")
    run_tasks()
    mail = OutboxMessage.objects.get(to="zhang@example.com", subject__contains=order["id"])
    assert "eSIM" in mail.subject
    assert any("\u4e00" <= ch <= "\u9fff" for ch in mail.subject)
    assert "¥" in mail.body_text and "¥" in mail.body_html
    assert "上海时间" in mail.body_text and "Asia/Shanghai" not in mail.body_text
    name, mimetype, content = mail.attachment(0)
    assert (name, mimetype) == (f"esimdesk-receipt-{order['id']}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")


@pytest.mark.django_db
def test_same_dedupe_key_sends_once(shop: Shop) -> None:
    for _ in range(3):
        services.send_sms(to="+8613800138000", body="hello", kind="test", dedupe_key="k-1")
    run_tasks()
    assert Notification.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert Notification.objects.get().status == "sent"


@pytest.mark.django_db
def test_failed_delivery_is_recorded_and_retried(shop: Shop, settings) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "SMS_BACKEND": "nowhere"}
    notification = services.send_sms(to="+8613800138000", body="hi", kind="test")
    run_tasks()
    notification.refresh_from_db()
    assert notification.status == "failed"
    assert "nowhere" in notification.error
    assert notification.attempts == 1
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(status="READY").count() == 1  # the retry, later
