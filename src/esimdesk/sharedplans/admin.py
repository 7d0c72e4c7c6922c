"""Staff console pages for group plans' terms (edited with an audit row) and the records of
what groups bought and used (member usage, group order lines, monthly invoices: issued by
the sweep, paid on their page)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin, money_column
from esimdesk.sharedplans.models import (
    GroupLine,
    GroupPlanTerms,
    MemberPriceTier,
    MemberUsage,
    MonthlyInvoice,
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
admin.site.register(MemberUsage, ReadOnlyAdmin,
                    list_display=["membership", "period", "kind", "used", "overage", "capped_at"],
                    search_fields=["membership__user__email", "membership__esim__iccid"])


@admin.register(GroupLine)
class GroupLineAdmin(ReadOnlyAdmin):
    list_display = ["line", "group", "members", "unit_amount_money", "percent_off"]
    search_fields = ["line__order__number", "group__name"]
    list_select_related = ["line__order", "group"]
    unit_amount_money = money_column("unit_amount", "line__order__currency",
                                     _("price per member"))


admin.site.register(MonthlyInvoice, ReadOnlyAdmin,  # issued by the sweep, paid on its page
                    search_fields=["number", "group__name", "group__company_name"],
                    list_display=["number", "group", "month", "status", "due_at"])
