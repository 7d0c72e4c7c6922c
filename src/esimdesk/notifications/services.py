"""Queue messages and keep customers' notification settings. Each message is one Notification
row under a unique dedupe key, created in the caller's transaction together with the task that
delivers it after commit (in-app notices need no delivery). ``notify`` is the entry point for
anything a customer should hear about; ``send_email``/``send_sms`` are the raw transports
(account codes, allauth mail)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from esimdesk.core import audit, clock
from esimdesk.core.errors import NotFound, ValidationFailed
from esimdesk.notifications import queries, routing
from esimdesk.notifications.models import Channel, Notification, NotificationPreference
from esimdesk.notifications.rendering import render_email, render_message
from esimdesk.notifications.tasks import deliver_notification

__all__ = ["mark_all_read", "mark_read", "notify", "render_email", "resend_failed", "send_email",
           "send_sms", "send_templated_email", "update_preferences"]


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


def notify(*, user: Any, kind: str, template: str, context: dict[str, Any], dedupe_key: str,
           transactional: bool = False) -> list[Notification]:
    """Tell a customer something, on the channels they chose, once.

    ``template`` names ``notifications/email/<template>.{subject.txt,txt,html}``,
    ``notifications/sms/<template>.txt`` and ``notifications/inapp/<template>.txt``, rendered
    in the customer's language and time zone (see ``rendering`` for the fallbacks).
    Non-transactional kinds must map to a preference category (``routing.KIND_PREFIXES``):
    a customer who switched the category or a channel off gets nothing there.
    ``transactional`` messages (receipts, refund and renewal outcomes) ignore the categories
    and always reach at least one of e-mail or SMS. Each channel's message is deduplicated by
    ``f"{dedupe_key}:{channel}"``, and once any channel has a message under ``dedupe_key``
    a repeated call (a sweep run twice, two schedulers) sends nothing more: it answers the
    rows made the first time. Call it inside the transaction of the change it announces;
    e-mail and SMS go out from tasks after commit, in-app notices are visible at once.
    """
    if not transactional:
        routing.category_for(kind)  # an unmapped kind is refused even when deduplicated
    keys = {channel: f"{dedupe_key}:{channel.value}" for channel in routing.CHANNEL_ORDER}
    with transaction.atomic():
        existing = list(Notification.objects.filter(dedupe_key__in=keys.values()))
        if existing:
            return sorted(existing, key=lambda n: routing.CHANNEL_ORDER.index(
                Channel(n.channel)))
        channels = routing.channels_for(user=user, preference=queries.preference_of(user),
                                        kind=kind, transactional=transactional)
        if not channels:
            return []
        rendered = render_message(user=user, template=template, context=context,
                                  channels=channels)
        sent: list[Notification] = []
        for channel in channels:
            message = rendered[channel]
            if channel == Channel.EMAIL:
                sent.append(send_email(to=user.email, subject=message.subject,
                                       body_text=message.text, body_html=message.html,
                                       kind=kind, user=user, language=user.language,
                                       dedupe_key=keys[channel]))
            elif channel == Channel.SMS:
                sent.append(send_sms(to=user.phone, body=message.text, kind=kind, user=user,
                                     dedupe_key=keys[channel]))
            else:
                sent.append(_record_inapp(user=user, kind=kind, subject=message.subject,
                                          text=message.text, dedupe_key=keys[channel]))
    return sent


def update_preferences(*, user: Any, **changes: bool) -> NotificationPreference:
    """Switch channels and kinds of message on or off (fields of NotificationPreference)."""
    allowed = NotificationPreference.CHANNEL_FIELDS + NotificationPreference.CATEGORY_FIELDS
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationFailed(code="unknown_field", detail={"fields": sorted(unknown)})
    with transaction.atomic():
        preference, _created = (NotificationPreference.objects.select_for_update()
                                .get_or_create(user=user))
        changed = {k: bool(v) for k, v in changes.items() if getattr(preference, k) != bool(v)}
        if changed:
            before = {k: getattr(preference, k) for k in changed}
            for field, value in changed.items():
                setattr(preference, field, value)
            preference.updated_at = clock.now()
            preference.save(update_fields=[*changed, "updated_at"])
            audit.record_by_user(user=user, action="notifications.preferences",
                                 obj=preference, before=before, after=changed)
    return preference


def mark_read(*, user: Any, notification_id: int) -> Notification:
    """Mark one of the customer's own messages read; someone else's is NotFound.

    Not audited: a read mark changes nothing the business relies on, and a row per click
    would bury the changes that matter."""
    with transaction.atomic():
        notification = (Notification.objects.select_for_update()
                        .filter(user=user, pk=notification_id).first())
        if notification is None:
            raise NotFound(_("There is no such notification in your account."),
                           code="unknown_notification")
        if notification.read_at is None:
            notification.read_at = clock.now()
            notification.save(update_fields=["read_at"])
    return notification


def mark_all_read(*, user: Any) -> int:
    with transaction.atomic():
        return queries.unread_notices_of(user).update(read_at=clock.now())


def resend_failed(*, staff: Any, notification_ids: Iterable[int]) -> int:
    """Queue failed e-mails and texts for one more delivery (after staff fixed the provider's
    credentials, say). Answers how many were queued; each is audited."""

    count = 0
    with transaction.atomic():
        failed = (Notification.objects.select_for_update()
                  .filter(pk__in=list(notification_ids), status=Notification.Status.FAILED)
                  .exclude(channel=Channel.INAPP).order_by("pk"))
        for notification in failed:
            notification.status = Notification.Status.QUEUED
            notification.save(update_fields=["status"])
            deliver_notification.enqueue(notification.pk)
            audit.record_by_user(user=staff, action="notifications.resend", obj=notification,
                                 before={"status": "failed", "error": notification.error},
                                 after={"status": "queued"})
            count += 1
    return count


def _record_inapp(*, user: Any, kind: str, subject: str, text: str,
                  dedupe_key: str) -> Notification:
    """An in-app notice is delivered the moment it is stored: the portal and the API read it
    from this row, so there is no transport and no task."""
    now = clock.now()
    return _create_once(dedupe_key, enqueue=False, channel=Channel.INAPP, to=str(user)[:254],
                        subject=subject[:255], body_text=text, body_html="", kind=kind,
                        user=user, language=user.language, attachments=[],
                        status=Notification.Status.SENT, created_at=now, sent_at=now)


def _queue(*, dedupe_key: str | None, **fields: Any) -> Notification:
    key = dedupe_key or f"{fields['kind']}:{uuid.uuid4()}"
    return _create_once(key, enqueue=True, **fields)


def _create_once(key: str, *, enqueue: bool, **fields: Any) -> Notification:
    existing = Notification.objects.filter(dedupe_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            notification = Notification.objects.create(dedupe_key=key, **fields)
            if enqueue:
                deliver_notification.enqueue(notification.pk)
    except IntegrityError:
        # A concurrent caller queued the same message first; it is sent once.
        return Notification.objects.get(dedupe_key=key)
    return notification
