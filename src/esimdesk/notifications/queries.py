"""Reads shared by the portal, the API and ``services``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from esimdesk.notifications.models import Channel, Notification, NotificationPreference

# Messages that carry a secret (sign-in and reset codes, reset and confirmation links).
# Their text is never shown again in the history: a stolen session must not be able to read a
# password reset code there and lock the owner out.
SECRET_KINDS = ("account_code", "password_reset_code")
SECRET_KIND_PREFIXES = ("account:",)


def preference_of(user: Any) -> NotificationPreference:
    """The customer's preferences; the defaults (unsaved) for a customer who never changed
    them, so sending a reminder to a million customers writes no preference rows."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found if found is not None else NotificationPreference(user=user)


def history_of(user: Any) -> QuerySet[Notification]:
    """Every message sent to the customer, on every channel, newest first."""
    return (Notification.objects.filter(user=user)
            .defer("body_html", "attachments").order_by("-created_at", "-id"))


def unread_notices_of(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, channel=Channel.INAPP, read_at__isnull=True)


def unread_notices(user: Any, *, limit: int = 5) -> list[Notification]:
    return list(unread_notices_of(user).defer("body_html", "attachments")
                .order_by("-created_at", "-id")[:limit])


def is_secret(kind: str) -> bool:
    return kind in SECRET_KINDS or kind.startswith(SECRET_KIND_PREFIXES)


def visible_text(notification: Notification) -> str:
    """The text a customer may see again later."""
    if is_secret(notification.kind):
        return _("This message contained a one-time code or link and is not shown again.")
    return notification.body_text
