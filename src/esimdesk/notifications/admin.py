"""Messages in the staff console: notifications (failed ones can be sent again), channel
preferences (editable when a customer asks) and the outbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.notifications import services as notifications
from esimdesk.notifications.kinds import kind_name
from esimdesk.notifications.models import Notification, NotificationPreference, OutboxMessage


class KindFilter(admin.SimpleListFilter):
    """The kinds of message sent so far, by their names (notifications.kinds)."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        kinds = Notification.objects.order_by("kind").values_list("kind", flat=True).distinct()
        return sorted(((kind, kind_name(kind)) for kind in kinds),
                      key=lambda pair: pair[1].casefold())

    def queryset(self, request: HttpRequest,
                 queryset: QuerySet[Notification]) -> QuerySet[Notification]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "kind_shown", "to", "status", "attempts",
                    "sent_at", "read_at"]
    list_filter = ["channel", KindFilter, "status"]
    search_fields = ["to", "dedupe_key", "external_id", "user__email", "user__phone"]
    exclude = ["attachments"]
    actions = ["resend"]

    @admin.display(description=_("kind"), ordering="kind")
    def kind_shown(self, notification: Notification) -> str:
        return kind_name(notification.kind)

    @admin.action(description=_("Send failed messages again"))
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        queued = notifications.resend_failed(staff=request.user,
                                             notification_ids=queryset.values_list("pk",
                                                                                   flat=True))
        self.message_user(request, ngettext("%(count)s message queued again",
                                            "%(count)s messages queued again", queued)
                          % {"count": queued}, messages.SUCCESS)


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
