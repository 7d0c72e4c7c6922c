"""Staff console: messages are a read-only record (with a resend action), preferences are
editable and audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from esimdesk.accounts.models import User
from esimdesk.core.models import AuditEntry
from esimdesk.notifications import services
from esimdesk.notifications.models import Notification, NotificationPreference
from tests.conftest import run_tasks


@pytest.fixture
def staff(db: Any) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss@example.com", "x-long-password-1"))
    return client


def test_lists_are_searchable(staff: Client, make_user: Callable[..., User]) -> None:
    user = make_user()
    services.update_preferences(user=user, sms=False)
    for model in ("notification", "notificationpreference"):
        url = reverse(f"admin:notifications_{model}_changelist")
        assert staff.get(url + "?q=alex").status_code == 200


def test_messages_are_read_only(staff: Client, make_user: Callable[..., User]) -> None:
    notification = services.send_sms(to="+8613800138000", body="hi", kind="test",
                                     user=make_user())
    change = reverse("admin:notifications_notification_change", args=[notification.pk])
    assert staff.post(change, {"status": "sent"}).status_code == 403


def test_staff_may_change_preferences_with_an_audit_row(
        staff: Client, make_user: Callable[..., User]) -> None:
    user = make_user()
    preference = services.update_preferences(user=user, sms=True)
    change = reverse("admin:notifications_notificationpreference_change",
                     args=[preference.pk])
    response = staff.post(change, {"user": user.pk, "email": "on", "inapp": "on",
                                   "reminders": "on", "renewals": "on"})
    assert response.status_code == 302, response.content
    assert NotificationPreference.objects.get(user=user).sms is False
    assert AuditEntry.objects.filter(action="admin.change",
                                     object_type="notificationpreference").exists()


def test_resend_action_queues_failed_messages_only(staff: Client, settings: Any) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "SMS_BACKEND": "nowhere"}
    failed = services.send_sms(to="+8613800138000", body="hi", kind="test")
    run_tasks()
    settings.ESIMDESK = {**settings.ESIMDESK, "SMS_BACKEND": "outbox"}
    DBTaskResult.objects.filter(status="READY").delete()  # forget the automatic retry
    response = staff.post(reverse("admin:notifications_notification_changelist"),
                          {"action": "resend", "_selected_action": [failed.pk]})
    assert response.status_code == 302
    run_tasks()
    failed.refresh_from_db()
    assert failed.status == Notification.Status.SENT
