"""Queue messages. Each message is one Notification row under a unique dedupe key, created in
the caller's transaction together with the task that delivers it after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from esimdesk.notifications.models import Channel, Notification


def send_email(*, to: str, subject: str, body_text: str, kind: str, body_html: str = "",
               user: Any = None, language: str = "en", dedupe_key: str | None = None,
               attachments: Iterable[dict[str, str]] = ()) -> Notification:
    return _queue(channel=Channel.EMAIL, to=to, subject=subject[:255], body_text=body_text,
                  body_html=body_html, kind=kind, user=user, language=language,
                  dedupe_key=dedupe_key, attachments=list(attachments))


def send_sms(*, to: str, body: str, kind: str, user: Any = None,
             dedupe_key: str | None = None) -> Notification:
    language = getattr(user, "language", None) or "en"
    return _queue(channel=Channel.SMS, to=to, subject="", body_text=body, body_html="",
                  kind=kind, user=user, language=language, dedupe_key=dedupe_key,
                  attachments=[])


def send_templated_email(*, user: Any, kind: str, template: str, context: dict[str, Any],
                         dedupe_key: str,
                         attachments: Iterable[dict[str, str]] = ()) -> Notification | None:
    """Render ``notifications/email/<template>.{subject.txt,txt,html}`` in the user's language
    and time zone, then queue it. Users without an e-mail address get nothing (None)."""
    if not user.email:
        return None
    subject, text, html = render_email(user=user, template=template, context=context)
    return send_email(to=user.email, subject=subject, body_text=text, body_html=html,
                      kind=kind, user=user, language=user.language, dedupe_key=dedupe_key,
                      attachments=attachments)


def render_email(*, user: Any, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    base = f"notifications/email/{template}"
    with translation.override(user.language), timezone.override(user.tz):
        ctx = {"user": user, **context}
        subject = " ".join(render_to_string(f"{base}.subject.txt", ctx).split())
        text = render_to_string(f"{base}.txt", ctx)
        html = render_to_string(f"{base}.html", ctx)
    return subject, text, html


def _queue(*, dedupe_key: str | None, **fields: Any) -> Notification:
    from esimdesk.notifications.tasks import deliver_notification

    key = dedupe_key or f"{fields['kind']}:{uuid.uuid4()}"
    existing = Notification.objects.filter(dedupe_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            notification = Notification.objects.create(dedupe_key=key, **fields)
            deliver_notification.enqueue(notification.pk)
    except IntegrityError:
        # A concurrent caller queued the same message first; it is sent once.
        return Notification.objects.get(dedupe_key=key)
    return notification
