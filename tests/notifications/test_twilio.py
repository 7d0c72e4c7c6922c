"""The Twilio SMS adapter against a local fake of Twilio's Messages API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from esimdesk.core import clock
from esimdesk.notifications import services
from esimdesk.notifications.channels import sms_twilio
from esimdesk.notifications.channels.base import FinalDeliveryError, RetryableDeliveryError
from esimdesk.notifications.models import Notification, OutboxMessage
from tests.conftest import run_tasks
from tests.notifications.fakes_twilio import SERVICE_SID, TwilioFake, twilio_fake  # noqa: F401

TO = "+8613800138000"


@pytest.fixture
def fake(twilio_fake: TwilioFake) -> TwilioFake:  # noqa: F811
    return twilio_fake


@pytest.fixture
def twilio_backend(fake: TwilioFake, settings: Any) -> TwilioFake:
    settings.ESIMDESK = {**settings.ESIMDESK, "SMS_BACKEND": "twilio"}
    return fake


# -- the adapter -----------------------------------------------------------------------------

def test_sends_a_form_with_basic_auth_and_answers_the_message(fake: TwilioFake) -> None:
    message = sms_twilio.send(to=TO, body="Your plan ends in 3 days")
    assert message["sid"].startswith("SM") and message["status"] == "queued"
    request = fake.requests[-1]
    assert request["authorized"]
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"To": TO, "Body": "Your plan ends in 3 days",
                               "From": "+15005550006"}


def test_a_messaging_service_sid_is_sent_as_such(fake: TwilioFake,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_TWILIO_FROM", SERVICE_SID)
    sms_twilio.send(to=TO, body="hi")
    assert fake.requests[-1]["form"] == {"To": TO, "Body": "hi",
                                         "MessagingServiceSid": SERVICE_SID}


def test_a_4xx_is_final_with_twilios_code_and_message(fake: TwilioFake) -> None:
    with pytest.raises(FinalDeliveryError) as refused:
        sms_twilio.send(to="12345", body="hi")
    assert "HTTP 400 error 21211: Invalid 'To' Phone Number: 12345" in str(refused.value)
    assert "https://www.twilio.com/docs/errors/21211" in str(refused.value)


def test_wrong_credentials_are_final(fake: TwilioFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_TWILIO_AUTH_TOKEN", "not-the-token")
    with pytest.raises(FinalDeliveryError, match="HTTP 401 error 20003: Authenticate"):
        sms_twilio.send(to=TO, body="hi")
    assert fake.messages == []


def test_the_wrong_account_in_the_path_is_final(fake: TwilioFake,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sms_twilio, "API_VERSION", "2008-08-01")
    with pytest.raises(FinalDeliveryError, match="20404"):
        sms_twilio.send(to=TO, body="hi")


@pytest.mark.parametrize(("status", "code"), [(500, None), (503, None), (429, 20429)])
def test_5xx_and_429_are_retryable(fake: TwilioFake, status: int, code: int | None) -> None:
    fake.fail_next(status, code, "Too Many Requests" if code else "")
    with pytest.raises(RetryableDeliveryError, match=f"HTTP {status}"):
        sms_twilio.send(to=TO, body="hi")
    assert fake.messages == []


def test_a_timeout_is_retryable(fake: TwilioFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sms_twilio, "TIMEOUT", (1.0, 0.2))
    fake.stall_next(1.0)
    with pytest.raises(RetryableDeliveryError, match="did not answer"):
        sms_twilio.send(to=TO, body="hi")


def test_a_closed_port_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = TwilioFake().start()
    base = fake.api_base
    fake.stop()
    for name, value in (("API_BASE", base), ("ACCOUNT_SID", fake.account_sid),
                        ("AUTH_TOKEN", fake.auth_token), ("FROM", "+15005550006")):
        monkeypatch.setenv(f"ESIMDESK_TWILIO_{name}", value)
    with pytest.raises(RetryableDeliveryError):
        sms_twilio.send(to=TO, body="hi")


def test_missing_settings_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCOUNT_SID", "AUTH_TOKEN", "FROM"):
        monkeypatch.delenv(f"ESIMDESK_TWILIO_{name}", raising=False)
    with pytest.raises(sms_twilio.TwilioConfigurationError, match="ESIMDESK_TWILIO_AUTH_TOKEN"):
        sms_twilio.send(to=TO, body="hi")


# -- through the delivery task ---------------------------------------------------------------

def _queued_retries() -> Any:
    return DBTaskResult.objects.filter(status="READY")


def test_delivered_by_the_task_with_twilios_sid(db: Any, twilio_backend: TwilioFake) -> None:
    notification = services.send_sms(to=TO, body="hello", kind="test", dedupe_key="t-1")
    run_tasks()
    notification.refresh_from_db()
    assert notification.status == "sent"
    assert notification.external_id == twilio_backend.messages[0]["sid"]
    assert not OutboxMessage.objects.exists()  # Twilio, not the outbox


def test_a_5xx_is_retried_with_backoff_then_sent_once(db: Any,
                                                      twilio_backend: TwilioFake) -> None:
    start = timezone.now().replace(microsecond=0)
    clock.set_now(start)
    twilio_backend.fail_next(503)
    notification = services.send_sms(to=TO, body="hello", kind="test", dedupe_key="t-2")
    run_tasks()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 1)
    assert "HTTP 503" in notification.error
    retry = _queued_retries().get()
    assert retry.run_after == start + dt.timedelta(minutes=2)
    _queued_retries().update(run_after=timezone.now())  # time passes
    run_tasks()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.error) == ("sent", 2, "")
    assert len(twilio_backend.messages) == 1


def test_a_4xx_is_recorded_and_not_retried(db: Any, twilio_backend: TwilioFake) -> None:
    notification = services.send_sms(to="+1", body="hello", kind="test", dedupe_key="t-3")
    run_tasks()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 1)
    assert "21211" in notification.error and "Invalid 'To' Phone Number" in notification.error
    assert not _queued_retries().exists()


def test_wrong_credentials_are_recorded_and_staff_can_resend(
        db: Any, twilio_backend: TwilioFake, monkeypatch: pytest.MonkeyPatch) -> None:
    from esimdesk.accounts.models import User
    from esimdesk.core.models import AuditEntry

    monkeypatch.setenv("ESIMDESK_TWILIO_AUTH_TOKEN", "wrong")
    notification = services.send_sms(to=TO, body="hello", kind="test", dedupe_key="t-4")
    run_tasks()
    notification.refresh_from_db()
    assert notification.status == "failed" and "20003" in notification.error
    assert not _queued_retries().exists()
    # The operator fixes the token; staff send the failed messages again.
    monkeypatch.setenv("ESIMDESK_TWILIO_AUTH_TOKEN", twilio_backend.auth_token)
    boss = User.objects.create_superuser("boss@example.com", "x-long-password-1")
    assert services.resend_failed(staff=boss, notification_ids=[notification.pk]) == 1
    run_tasks()
    notification.refresh_from_db()
    assert notification.status == "sent" and len(twilio_backend.messages) == 1
    assert AuditEntry.objects.filter(action="notifications.resend").count() == 1
    assert Notification.objects.count() == 1
