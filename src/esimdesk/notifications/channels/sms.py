"""SMS channel, dispatching on ``ESIMDESK_SMS_BACKEND``:

- ``outbox`` (the embedded default) keeps each text in the staff outbox;
- ``twilio`` sends it through Twilio's Messages API (``sms_twilio``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from esimdesk.notifications.channels import sms_twilio
from esimdesk.notifications.models import Channel, Notification, OutboxMessage


class SmsConfigurationError(RuntimeError):
    pass


def _outbox(notification: Notification) -> str:
    message = OutboxMessage.objects.create(channel=Channel.SMS, to=notification.to,
                                           body_text=notification.body_text)
    return f"outbox:{message.pk}"


# Each backend sends one Notification and answers the provider's message id.
BACKENDS: dict[str, Callable[[Notification], str]] = {
    "outbox": _outbox,
    "twilio": sms_twilio.deliver,
}


def backend_name() -> str:
    # settings.ESIMDESK["SMS_BACKEND"] is ESIMDESK_SMS_BACKEND, read once at start-up.
    return str(settings.ESIMDESK["SMS_BACKEND"]).strip().lower()


def deliver(notification: Notification) -> str:
    name = backend_name()
    backend = BACKENDS.get(name)
    if backend is None:
        # Retried like a transport failure: the operator can fix the setting and restart.
        raise SmsConfigurationError(f"unknown SMS backend {name!r}")
    return backend(notification)
