"""The staff app's own registration in the raw model admin: the roles, read-only. Every
other app registers its models in its own ``admin.py`` (found by Django's autodiscovery)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from esimdesk.staff.models import Role
from esimdesk.staff.roles import ROLES


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin[Role]):
    """The three roles and what each may do, read-only: ``sync_roles`` owns them (edit a
    person's own permissions or groups to give them more)."""

    list_display = ["name", "member_count", "permission_count"]
    readonly_fields = ("name", "permission_list")
    fields = ("name", "permission_list")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).filter(name__in=ROLES).prefetch_related(
            "permissions__content_type", "user_set")

    @admin.display(description="members")
    def member_count(self, obj: Role) -> int:
        return len(obj.user_set.all())

    @admin.display(description="permissions")
    def permission_count(self, obj: Role) -> int:
        return len(obj.permissions.all())

    @admin.display(description="permissions")
    def permission_list(self, obj: Role) -> str:
        return ", ".join(sorted(f"{p.content_type.app_label}.{p.codename}"
                                for p in obj.permissions.all()))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
