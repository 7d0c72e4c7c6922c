"""Messages in the staff console: notifications (failed ones can be sent again), channel
preferences (editable when a customer asks) and the outbox."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.notifications import services as notifications
from esimdesk.notifications.models import Notification, NotificationPreference, OutboxMessage


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "kind", "to", "status", "attempts", "sent_at",
                    "read_at"]
    list_filter = ["channel", "kind", "status"]
    search_fields = ["to", "dedupe_key", "external_id", "user__email", "user__phone"]
    exclude = ["attachments"]
    actions = ["resend"]

    @admin.action(description="Send failed messages again")
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        queued = notifications.resend_failed(staff=request.user,
                                             notification_ids=queryset.values_list("pk",
                                                                                   flat=True))
        self.message_user(request, f"{queued} message(s) queued again", messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(AuditedAdmin):
    """Editable: support may switch a channel off when a customer asks by phone or chat.
    Transactional messages still go out whatever is set here."""

    list_display = ["user", "email", "sms", "inapp", "reminders", "renewals", "updated_at"]
    list_filter = ["email", "sms", "inapp", "reminders", "renewals"]
    search_fields = ["user__email", "user__phone"]
    raw_id_fields = ["user"]
    readonly_fields = ["updated_at"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "to", "subject"]
    search_fields = ["to", "subject"]
    exclude = ["attachments"]
