"""E-mail channel: hands a Notification to the configured Django e-mail backend
(the outbox by default, SMTP, or a hosted provider through django-anymail; see
``email_config``)."""

from __future__ import annotations

import base64
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from esimdesk.notifications.channels.base import FinalDeliveryError
from esimdesk.notifications.models import Notification


def deliver(notification: Notification) -> str:
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.to],
        headers={"X-Esimdesk-Notification": notification.dedupe_key},
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    for item in notification.attachments:
        message.attach(item["filename"], base64.b64decode(item["content_b64"]), item["mimetype"])
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        raise FinalDeliveryError(f"recipient refused: {error.recipients}") from error
    except Exception as error:
        if _refused_by_provider(error):
            raise FinalDeliveryError(f"{type(error).__name__}: {error}") from error
        raise  # anything else (connection, 5xx, throttling) is retried by the task
    return _provider_message_id(message)


def _refused_by_provider(error: Exception) -> bool:
    """An anymail error that sending again cannot fix: the provider refused the recipients,
    or answered a 4xx other than 429 (bad address, bad key, unverified sender)."""
    try:
        from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
    except ImportError:  # pragma: no cover - anymail is a dependency
        return False
    if isinstance(error, AnymailRecipientsRefused):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(error, AnymailAPIError) and status is not None and (
        400 <= int(status) < 500 and int(status) != 429)


def _provider_message_id(message: EmailMultiAlternatives) -> str:
    # Only anymail backends tell the provider's id; SMTP and the outbox have none.
    message_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    return "" if message_id is None else str(message_id)[:100]
