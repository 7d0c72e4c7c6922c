"""E-mail channel: hands a Notification to the configured Django e-mail backend
(the outbox by default, SMTP or a hosted provider through django-anymail in production)."""

from __future__ import annotations

import base64

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from esimdesk.notifications.models import Notification


def deliver(notification: Notification) -> None:
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
    message.send(fail_silently=False)
