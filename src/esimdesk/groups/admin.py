"""Staff console pages for group plans' terms and the records of groups (``Group`` and
``Membership`` are edited as they are). Terms and cost centres are
edited with an audit row; invitations, member usage and group order lines are records."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.groups.models import (
    CostCentre,
    Group,
    GroupLine,
    GroupPlanTerms,
    Invitation,
    MemberPriceTier,
    Membership,
    MemberUsage,
)


class MemberPriceTierInline(admin.TabularInline):  # type: ignore[type-arg]
    model = MemberPriceTier
    extra = 1


@admin.register(GroupPlanTerms)
class GroupPlanTermsAdmin(AuditedAdmin):
    list_display = ["plan", "min_members", "max_members", "intra_group_voice_percent_off",
                    "cap_action"]
    search_fields = ["plan__code"]
    inlines = [MemberPriceTierInline]


admin.site.register(MemberPriceTier, AuditedAdmin,
                    list_display=["terms", "min_members", "percent_off"],
                    search_fields=["terms__plan__code"])
admin.site.register(CostCentre, AuditedAdmin, list_display=["code", "name", "group"],
                    search_fields=["code", "group__name"])
admin.site.register(Invitation, ReadOnlyAdmin,
                    list_display=["group", "email", "phone", "role", "state", "expires_at"],
                    search_fields=["email", "phone", "group__name"], list_filter=["state"])
admin.site.register(MemberUsage, ReadOnlyAdmin,
                    list_display=["membership", "period", "kind", "used", "overage", "capped_at"],
                    search_fields=["membership__user__email", "membership__esim__iccid"])
admin.site.register(GroupLine, ReadOnlyAdmin,
                    list_display=["line", "group", "members", "unit_amount", "percent_off"],
                    search_fields=["line__order__number", "group__name"])


admin.site.register(Group, AuditedAdmin, search_fields=["name", "owner__email"])


admin.site.register(Membership, AuditedAdmin)
