"""The core's records in the staff console: the audit trail, idempotency records and
heartbeats (read-only), and the encrypted console settings."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from esimdesk import config
from esimdesk.core import (
    admin_third_party,  # noqa: F401 (registers)
    audit,
    audit_text,
    clock,
    console_settings,
)
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


class ActionFilter(admin.SimpleListFilter):
    """The actions recorded so far, by their names (core.audit_labels), not their codes."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        codes = (AuditEntry.objects.order_by("action")
                 .values_list("action", flat=True).distinct())
        return audit_text.action_choices(list(codes))

    def queryset(self, request: HttpRequest,
                 queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(action=self.value()) if self.value() else queryset


def _raw(value: Any) -> SafeString:
    """Stored JSON as the machine wrote it, marked as code (not words to translate)."""
    if value is None:
        return format_html("{}", "—")
    return format_html('<code translate="no">{}</code>',
                       json.dumps(value, ensure_ascii=False, sort_keys=True))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "who", "action_name", "what", "what_changed", "reason"]
    list_filter = ["actor_type", RecordKindFilter, ActionFilter]
    search_fields = ["object_id", "actor", "action"]
    readonly_fields = fields = ("at", "who", "action_name", "what", "what_changed", "reason",
                                "code", "stored_before", "stored_after")

    @admin.display(description=_("Who"), ordering="actor")
    def who(self, entry: AuditEntry) -> str:
        return audit_text.who(entry)

    @admin.display(description=_("Action"), ordering="action")
    def action_name(self, entry: AuditEntry) -> str:
        return audit_text.action_label(entry.action)

    @admin.display(description=_("Record"), ordering="object_type")
    def what(self, entry: AuditEntry) -> str:
        return f"{audit_text.record_kind(entry.object_type)} {entry.object_id}"

    @admin.display(description=_("What changed"))
    def what_changed(self, entry: AuditEntry) -> SafeString:
        """Each changed field as a sentence, before and after (core.audit_text)."""
        return format_html_join("", "<div>{}</div>",
                                ((sentence,) for sentence in audit_text.sentences(entry)))

    @admin.display(description=_("Codes"))
    def code(self, entry: AuditEntry) -> SafeString:
        """The action, actor and record as stored, for searching and for developers."""
        return format_html('<code translate="no">{} · {} · {}:{}</code>', entry.action,
                           entry.actor or entry.actor_type, entry.object_type,
                           entry.object_id)

    @admin.display(description=_("Stored before"))
    def stored_before(self, entry: AuditEntry) -> SafeString:
        return _raw(entry.before)

    @admin.display(description=_("Stored after"))
    def stored_after(self, entry: AuditEntry) -> SafeString:
        return _raw(entry.after)


admin.site.register(IdempotencyRecord, ReadOnlyAdmin, list_display=["scope", "key",
                                                                    "status_code", "created_at"])


admin.site.register(Heartbeat, ReadOnlyAdmin, list_display=["process", "seen_at"])


class ConsoleSettingForm(forms.ModelForm[ConsoleSetting]):
    name = forms.ChoiceField(label=_("Setting"), choices=[
        (o.name, o.name) for o in config.OPTIONS if config.console_editable(o.name)])
    value = forms.CharField(label=_("Value"), required=True,
                            widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("Stored encrypted. Secret values are never shown again."))

    class Meta:
        model = ConsoleSetting
        fields = ["name"]


@admin.register(ConsoleSetting)
class ConsoleSettingAdmin(admin.ModelAdmin[ConsoleSetting]):
    """Provider keys and switches set here win over the environment (within seconds)."""

    form = ConsoleSettingForm
    list_display = ["name", "shown_value", "updated_at", "updated_by"]

    @admin.display(description=_("Value"))
    def shown_value(self, setting: ConsoleSetting) -> str:
        option = next((o for o in config.OPTIONS if o.name == setting.name), None)
        if option is None or option.secret:
            return str(_("•••• (set)"))
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
