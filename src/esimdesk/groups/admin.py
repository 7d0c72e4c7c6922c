"""Staff console pages for the records of groups: ``Group`` and ``Membership`` (edited with
an audit row), cost centres (edited with an audit row) and invitations (records). Plan terms,
member usage and group lines are in ``sharedplans.admin``."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.groups.models import CostCentre, Group, Invitation, Membership

admin.site.register(CostCentre, AuditedAdmin, list_display=["code", "name", "group"],
                    search_fields=["code", "group__name"])
admin.site.register(Invitation, ReadOnlyAdmin,
                    list_display=["group", "email", "phone", "role", "state", "expires_at"],
                    search_fields=["email", "phone", "group__name"], list_filter=["state"])
admin.site.register(Group, AuditedAdmin, search_fields=["name", "owner__email"])
admin.site.register(Membership, AuditedAdmin)
