"""Notifications over the API: the customer's channel and kind preferences, their message
history and in-app notices. (No ``from __future__ import annotations``: ninja reads these
schemas' annotations at run time.)"""


import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from esimdesk.core.api.auth import customer_auth
from esimdesk.core.api.schemas import BodyIn, ErrorOut, ObjectId, Pagination
from esimdesk.notifications import queries, routing, services
from esimdesk.notifications.models import Channel, Notification, NotificationPreference

router = Router(tags=["notifications"], auth=customer_auth)


class PreferencesOut(Schema):
    email: bool = Field(..., description="reminders and notices by e-mail")
    sms: bool = Field(..., description="reminders and notices by SMS")
    inapp: bool = Field(..., description="notices in the app and on the website")
    reminders: bool = Field(..., description="expiry and low-data reminders")
    renewals: bool = Field(..., description="heads-ups before an automatic renewal")
    always_sent_by: str | None = Field(
        ..., description="receipts, refund and renewal outcomes and account codes cannot be "
                         "switched off: with e-mail and SMS both off they still go out on "
                         "this channel (email or sms)")


class PreferencesPatch(BodyIn):
    email: bool | None = None
    sms: bool | None = None
    inapp: bool | None = None
    reminders: bool | None = None
    renewals: bool | None = None


class NotificationOut(Schema):
    id: int
    channel: str = Field(..., description="email | sms | inapp")
    kind: str = Field(..., description="e.g. reminder_expiry, order_confirmation")
    subject: str = Field(..., description="e-mail subject, or the notice's title; may be empty")
    text: str = Field("", description="the plain text sent (one line for SMS and notices)")
    status: str = Field(..., description="queued | sent | failed")
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_text(notification: Notification) -> str:
        return queries.visible_text(notification)


def preferences_out(user: Any, preference: NotificationPreference) -> dict[str, Any]:
    fallback = routing.fallback_channel(user)
    return {**{name: getattr(preference, name)
               for name in (*NotificationPreference.CHANNEL_FIELDS,
                            *NotificationPreference.CATEGORY_FIELDS)},
            "always_sent_by": fallback.value if fallback else None}


@router.get("/notifications/preferences", response={200: PreferencesOut},
            summary="My notification preferences")
def get_preferences(request: HttpRequest) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    return preferences_out(user, queries.preference_of(user))


@router.patch("/notifications/preferences", response={200: PreferencesOut},
              summary="Switch channels and kinds of message on or off")
def patch_preferences(request: HttpRequest, body: PreferencesPatch) -> dict[str, Any]:
    """Only the fields sent change. Transactional messages cannot be switched off."""
    user = request.auth  # type: ignore[attr-defined]
    changes = body.model_dump(exclude_none=True)
    return preferences_out(user, services.update_preferences(user=user, **changes))


@router.get("/notifications", response={200: list[NotificationOut]},
            summary="Message history and notices")
@paginate(Pagination, page_size=20)
def list_notifications(request: HttpRequest, channel: Channel | None = None,
                       unread: bool | None = None) -> QuerySet[Notification]:
    """Every message sent to the signed-in customer on every channel, newest first.
    ``?channel=inapp&unread=true`` gives the notices still to show. The text of messages
    that carried a one-time code or link is not repeated."""
    items = queries.history_of(request.auth)  # type: ignore[attr-defined]
    if channel is not None:
        items = items.filter(channel=channel)
    if unread is not None:
        items = items.filter(read_at__isnull=unread)
    return items


@router.post("/notifications/{notification_id}/read",
             response={200: NotificationOut, 404: ErrorOut}, summary="Mark a notice read")
def mark_read(request: HttpRequest, notification_id: ObjectId) -> Notification:
    return services.mark_read(user=request.auth,  # type: ignore[attr-defined]
                              notification_id=notification_id)

