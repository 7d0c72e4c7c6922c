"""The core's records in the staff console: the audit trail, idempotency records and
heartbeats (read-only), and the encrypted console settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from esimdesk import config
from esimdesk.core import audit, audit_text, clock, console_settings
from esimdesk.core.admin_base import ReadOnlyAdmin
from esimdesk.core.models import AuditEntry, ConsoleSetting, Heartbeat, IdempotencyRecord


class RecordKindFilter(admin.SimpleListFilter):
    title = _("record")
    parameter_name = "object_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        kinds = (AuditEntry.objects.order_by("object_type")
                 .values_list("object_type", flat=True).distinct())
        return [(kind, audit_text.record_kind(kind)) for kind in kinds]

    def queryset(self, request: HttpRequest,
                 queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "who", "action", "what", "what_changed", "reason"]
    list_filter = ["actor_type", RecordKindFilter, "action"]
    search_fields = ["object_id", "actor", "action"]
    readonly_fields = ["at", "actor_type", "actor", "action", "object_type", "object_id",
                       "what_changed", "reason", "before", "after"]

    @admin.display(description=_("Who"), ordering="actor")
    def who(self, entry: AuditEntry) -> str:
        return f"{entry.get_actor_type_display()} {entry.actor}".strip()

    @admin.display(description=_("Record"), ordering="object_type")
    def what(self, entry: AuditEntry) -> str:
        return f"{audit_text.record_kind(entry.object_type)} {entry.object_id}"

    @admin.display(description=_("What changed"))
    def what_changed(self, entry: AuditEntry) -> SafeString:
        """Each changed field as a sentence, before and after (core.audit_text)."""
        return format_html_join("", "<div>{}</div>",
                                ((sentence,) for sentence in audit_text.sentences(entry)))


admin.site.register(IdempotencyRecord, ReadOnlyAdmin, list_display=["scope", "key",
                                                                    "status_code", "created_at"])


admin.site.register(Heartbeat, ReadOnlyAdmin, list_display=["process", "seen_at"])


class ConsoleSettingForm(forms.ModelForm[ConsoleSetting]):
    name = forms.ChoiceField(choices=[(o.name, o.name) for o in config.OPTIONS
                                      if config.console_editable(o.name)])
    value = forms.CharField(required=True, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="Stored encrypted. Secret values are never shown again.")

    class Meta:
        model = ConsoleSetting
        fields = ["name"]


@admin.register(ConsoleSetting)
class ConsoleSettingAdmin(admin.ModelAdmin[ConsoleSetting]):
    """Provider keys and switches set here win over the environment (within seconds)."""

    form = ConsoleSettingForm
    list_display = ["name", "shown_value", "updated_at", "updated_by"]

    @admin.display(description="Value")
    def shown_value(self, setting: ConsoleSetting) -> str:
        option = next((o for o in config.OPTIONS if o.name == setting.name), None)
        if option is None or option.secret:
            return "•••• (set)"
        return console_settings.decrypt(setting.value_encrypted)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            obj.value_encrypted = console_settings.encrypt(form.cleaned_data["value"].strip())
            obj.updated_by = f"{request.user.pk}:{request.user}"
            obj.updated_at = clock.now()
            obj.save()
            # The value itself stays out of the audit trail: it may be a key.
            audit.record_by_user(user=request.user, obj=obj, action="console_setting.set",
                                 after={"name": obj.name})
        console_settings.forget()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit.record_by_user(user=request.user, obj=obj, action="console_setting.delete",
                                 before={"name": obj.name})
            obj.delete()
        console_settings.forget()
