"""The admin pages of other projects' models, labelled in the reader's language: django-tasks'
task results and allauth's authenticators, registered again over the projects' own admin
classes (which ``admin.autodiscover`` loads first: their apps come first in settings).

Their fields' names are not marked for translation (allauth) or some columns have none of
their own (django-tasks' "task name", "run after"), so the columns, filters and form
labels are named here; see ``core.third_party`` for the models' and apps' names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.db import models
from django.forms import Field as FormField
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

AUTHENTICATOR_FIELDS: dict[str, Promise] = {
    "user": _("user"), "type": _("type"), "data": _("data"),
    "created_at": _("created at"), "last_used_at": _("last used at")}


def titled(base: type[admin.FieldListFilter], title: Promise) -> type[admin.FieldListFilter]:
    """``base`` with ``title`` in place of the field's own (untranslated) name."""

    class Titled(base):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


class NamedAuthenticatorAdmin(AuthenticatorAdmin):  # type: ignore[misc]
    list_display = ("owner", "kind", "created", "last_used")
    list_filter = (("type", titled(admin.ChoicesFieldListFilter, _("type"))),
                   ("created_at", titled(admin.DateFieldListFilter, _("created at"))),
                   ("last_used_at", titled(admin.DateFieldListFilter, _("last used at"))))

    @admin.display(description=_("user"), ordering="user")
    def owner(self, authenticator: Authenticator) -> str:
        return str(authenticator.user)

    @admin.display(description=_("type"), ordering="type")
    def kind(self, authenticator: Authenticator) -> str:
        return str(authenticator.get_type_display())

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, authenticator: Authenticator) -> datetime:
        created: datetime = authenticator.created_at
        return created

    @admin.display(description=_("last used at"), ordering="last_used_at")
    def last_used(self, authenticator: Authenticator) -> datetime | None:
        used: datetime | None = authenticator.last_used_at
        return used

    def formfield_for_dbfield(self, db_field: models.Field[Any, Any], request: HttpRequest,
                              **kwargs: Any) -> FormField | None:
        field: FormField | None = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in AUTHENTICATOR_FIELDS:
            field.label = str(AUTHENTICATOR_FIELDS[db_field.name]).capitalize()
        return field


class NamedTaskResultAdmin(DBTaskResultAdmin):
    list_display = ("number", "name", "status", "enqueued_at", "started_at", "finished_at",
                    "priority", "queue")
    list_filter = ("status", "priority")  # type: ignore[assignment]  # one queue: "default"

    @admin.display(description="ID", ordering="id")
    def number(self, result: DBTaskResult[Any, Any]) -> SafeString:
        return format_html('<code translate="no">{}</code>', result.pk)

    @admin.display(description=_("queue name"), ordering="queue_name")
    def queue(self, result: DBTaskResult[Any, Any]) -> SafeString:
        return format_html('<code translate="no">{}</code>', result.queue_name)

    @admin.display(description=_("task"), ordering="task_path")
    def name(self, result: DBTaskResult[Any, Any]) -> SafeString:
        """The task's name in the code (``fulfil_order_task``), shown as code."""
        return format_html('<code translate="no">{}</code>', result.task_name)

    @admin.display(description=_("traceback"))
    def formatted_traceback(self, obj: DBTaskResult[Any, Any]) -> str:
        return str(super().formatted_traceback(obj))

    @admin.display(description=_("run after"))
    def display_run_after(self, obj: DBTaskResult[Any, Any]) -> Any:
        return super().display_run_after(obj)


for model, model_admin in ((Authenticator, NamedAuthenticatorAdmin),
                           (DBTaskResult, NamedTaskResultAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
