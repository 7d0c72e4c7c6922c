"""Admin base classes shared by every app's console pages (each app registers its own
models in its ``admin.py``; this module registers nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import text, translation
from django.utils.safestring import SafeString, mark_safe

from esimdesk.core import audit, names
from esimdesk.core.money import Money


class NamedLabelsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Form labels that keep a name's case ("eSIM", not Django's "ESIM"); read-only fields'
    labels are drawn by ``admin/includes/fieldset.html`` with the same ``capfirst``."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any,
                              ) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        verbose_name = getattr(db_field, "verbose_name", None)
        if formfield is not None and verbose_name and "label" not in kwargs:
            formfield.label = names.capfirst(verbose_name)
        return formfield

    def history_view(self, request: HttpRequest, object_id: str,
                     extra_context: dict[str, Any] | None = None) -> HttpResponse:
        module_name = str(names.capfirst(self.opts.verbose_name_plural))
        return super().history_view(request, object_id,
                                    {"module_name": module_name, **(extra_context or {})})


    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """What a delete would take or is protected by, each line named "eSIM: …" as the
        rest of the console names it (Django's lines start "ESIM: …")."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        shouted = {f"{text.capfirst(model._meta.verbose_name)}: ":
                   f"{names.capfirst(model._meta.verbose_name)}: "
                   for model in apps.get_models()
                   if names.keeps_its_case(str(model._meta.verbose_name))}
        return (_named_lines(deleted, shouted), counts, perms_needed,
                _named_lines(protected, shouted))


def _named_lines(lines: Any, shouted: dict[str, str]) -> Any:
    """``lines`` (nested lists of "Model: record" lines) with each line's model name as
    ``shouted`` maps it; a safe line (one with a link) stays safe."""
    if isinstance(lines, list):
        return [_named_lines(line, shouted) for line in lines]
    for wrong, right in shouted.items():
        if isinstance(lines, str) and lines.startswith(wrong):
            named = right + lines[len(wrong):]
            # Only the model's name (the code's own text) changed: as safe as the line was.
            return mark_safe(named) if isinstance(lines, SafeString) else named
    return lines


class ReadOnlyAdmin(NamedLabelsAdmin):
    """For append-only records: visible to staff, never edited or deleted by hand (they
    change only through the services that audit them)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    """Rows shown inside another record's page as they were made (an order's lines and
    payments): they change only through the services, never by hand there."""

    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedAdmin(NamedLabelsAdmin):
    """Editable by staff; every save and delete writes an audit row with who and what."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            changed = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
            audit.record_by_user(user=request.user, obj=obj,
                                 action=f"admin.{'change' if change else 'add'}",
                                 before={name: str(form.initial.get(name))
                                         for name in form.changed_data} if change else None,
                                 after=changed)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit.record_by_user(user=request.user, obj=obj, action="admin.delete",
                                 before={"repr": str(obj)})
            super().delete_model(request, obj)


def money_column(amount: str, currency: str, description: Any) -> Callable[..., str]:
    """A list column that shows an amount stored in minor units as money in the reader's
    language ("CN¥209.00", not "20900"), sorted by the stored amount. ``currency`` names the
    row's currency field, through relations with ``__`` (``order__currency``)."""

    @admin.display(description=description, ordering=amount)
    def column(self: Any, obj: Any) -> str:
        value = getattr(obj, amount)
        if value is None:
            return "—"
        code: Any = obj
        for part in currency.split("__"):
            code = getattr(code, part)
        return Money(int(value), str(code)).format(translation.get_language())

    column.__name__ = f"{amount}_money"
    return column


def console_page(request: HttpRequest, template: str, context: dict[str, Any], *,
                 status: int = 200) -> HttpResponse:
    """A staff page beside the admin, drawn in the admin's frame: its site header and title
    come from the admin site as on the admin's own pages. Without the model sidebar: these
    pages use the full width, and the links they show are the ones the page decides on."""
    frame = {**admin.site.each_context(request), "is_nav_sidebar_enabled": False}
    return render(request, template, {**frame, **context}, status=status)
