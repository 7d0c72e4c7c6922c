"""Staff console pages for the records of groups (``Group`` and ``Membership`` themselves
are registered in ``staff.admin``; plan terms, member usage and group lines in
``sharedplans.admin``). Cost centres are edited with an audit row; invitations are records."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.groups.models import CostCentre, Invitation

admin.site.register(CostCentre, AuditedAdmin, list_display=["code", "name", "group"],
                    search_fields=["code", "group__name"])
admin.site.register(Invitation, ReadOnlyAdmin,
                    list_display=["group", "email", "phone", "role", "state", "expires_at"],
                    search_fields=["email", "phone", "group__name"], list_filter=["state"])
