"""The core's records in the staff console: the audit trail, idempotency records and
heartbeats (read-only), and the encrypted console settings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.fernet import InvalidToken
from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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
    list_display = ["at", "who", "action_name", "what", "what_changed", "why"]
    list_filter = ["actor_type", RecordKindFilter, ActionFilter]
    search_fields = ["object_id", "actor", "action"]
    readonly_fields = fields = ("at", "who", "action_name", "what", "what_changed", "why",
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

    @admin.display(description=_("Reason"))
    def why(self, entry: AuditEntry) -> str:
        """A reason esimdesk wrote in the reader's language; a typed one as typed."""
        return audit_text.reason_text(entry.reason)

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


def _setting_choices() -> list[tuple[str, str]]:
    # A callable: the adapters' options are known only once every app is ready.
    return [(option.name, option.name) for option in config.console_options()]


#: What the audit trail and the list show in place of a secret value.
HIDDEN = "••••"


class ConsoleSettingForm(forms.ModelForm[ConsoleSetting]):
    """One console setting: its name (only options the console may set) and its value, a
    text box large enough for a PEM certificate or key, whose line breaks are kept
    (``\r\n`` from the browser becomes ``\n``). A one-line option refuses a value over
    several lines (a pasted key with a stray line break would fail later, at a supplier)."""

    name = forms.ChoiceField(choices=_setting_choices, label=_("Setting"))
    value = forms.CharField(
        required=True, strip=False, label=_("Value"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_("Stored encrypted. Secret values are never shown again. Certificates "
                    "and keys: paste the whole PEM text (from the BEGIN line to the END "
                    "line), or give the path of a file on the server."))

    class Meta:
        model = ConsoleSetting
        fields = ["name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.instance.name if self.instance.pk else str(self.initial.get("name", ""))
        option = config.option(name) if name else None
        if option is not None:  # what the setting is for, in the reader's language
            self.fields["name"].help_text = config.help_text(option)
        if self.instance.pk and option is not None and not option.secret:
            self.initial.setdefault("value", _readable(self.instance) or "")
        if name and config.multiline(name):
            self.fields["value"].widget.attrs.update({"rows": 14, "class": "console-pem"})

    def clean_value(self) -> str:
        value = str(self.cleaned_data["value"]).replace("\r\n", "\n").replace("\r", "\n")
        value = value.strip()
        if not value:
            raise forms.ValidationError(_("Enter a value."), code="required")
        name = self.cleaned_data.get("name", "")
        if name and "\n" in value and not config.multiline(name):
            raise forms.ValidationError(_("This setting takes one line."), code="one_line")
        return value


def _recorded_value(name: str, value: str | None) -> str | None:
    """A setting's value as the audit trail keeps it: never a secret's, and a fingerprint
    of a certificate rather than the whole PEM block."""
    option = config.option(name)
    if value is None:
        return None
    if option is None or option.secret:
        return HIDDEN
    if "\n" in value:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]
    return value


def _readable(setting: ConsoleSetting) -> str | None:
    try:
        return console_settings.decrypt(setting.value_encrypted)
    except InvalidToken:  # stored under another secret key
        return None


@admin.register(ConsoleSetting)
class ConsoleSettingAdmin(admin.ModelAdmin[ConsoleSetting]):
    """Provider and supplier keys and switches set here win over the environment (within
    seconds). Every change is audited: who, which setting, and the value only when it is
    not a secret."""

    form = ConsoleSettingForm
    list_display = ["name", "shown_value", "updated_at", "updated_by"]

    @admin.display(description=_("Value"))
    def shown_value(self, setting: ConsoleSetting) -> str:
        option = config.option(setting.name)
        if option is None or option.secret:
            return str(_("%(hidden)s (set)") % {"hidden": HIDDEN})
        value = _readable(setting)
        if value is None:
            return str(_("unreadable (the secret key changed)"))
        lines = value.count("\n") + 1
        if lines > 1:
            return str(ngettext("%(count)d line", "%(count)d lines", lines) % {"count": lines})
        return value

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        value = form.cleaned_data["value"]
        with transaction.atomic():
            previous = (ConsoleSetting.objects.select_for_update().filter(pk=obj.pk).first()
                        if obj.pk else None)
            before = None
            if previous is not None:
                before = {"name": previous.name,
                          "value": _recorded_value(previous.name, _readable(previous)),
                          "updated_at": previous.updated_at.isoformat()}
            obj.value_encrypted = console_settings.encrypt(value)
            obj.updated_by = f"{request.user.pk}:{request.user}"
            obj.updated_at = clock.now()
            obj.save()
            # A secret's value stays out of the audit trail: it may be a key.
            audit.record_by_user(user=request.user, obj=obj, action="console_setting.set",
                                 before=before,
                                 after={"name": obj.name,
                                        "value": _recorded_value(obj.name, value),
                                        "updated_at": obj.updated_at.isoformat()})
        console_settings.forget()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            self._record_deletion(request, obj)
            obj.delete()
        console_settings.forget()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ConsoleSetting]) -> None:
        """The list's *Delete selected* action: one audit row per setting, as one by one."""
        with transaction.atomic():
            for setting in queryset.select_for_update().order_by("pk"):
                self._record_deletion(request, setting)
            queryset.delete()
        console_settings.forget()

    @staticmethod
    def _record_deletion(request: HttpRequest, setting: ConsoleSetting) -> None:
        audit.record_by_user(user=request.user, obj=setting, action="console_setting.delete",
                             before={"name": setting.name,
                                     "value": _recorded_value(setting.name,
                                                              _readable(setting))})
