"""SMS channel. ``outbox`` (the embedded default) keeps each text in the staff outbox; a
hosted SMS provider adapter plugs in here under its own ``ESIMDESK_SMS_BACKEND`` name."""

from __future__ import annotations

from django.conf import settings

from esimdesk.notifications.models import Channel, Notification, OutboxMessage


class SmsConfigurationError(RuntimeError):
    pass


def deliver(notification: Notification) -> None:
    backend = settings.ESIMDESK["SMS_BACKEND"]
    if backend != "outbox":
        raise SmsConfigurationError(f"unknown SMS backend {backend!r}")
    OutboxMessage.objects.create(channel=Channel.SMS, to=notification.to,
                                 body_text=notification.body_text)
