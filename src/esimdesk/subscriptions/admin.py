"""Subscriptions, periods, allowances and reminders in the staff console (periods and
subscriptions come from orders and renewals: never added by hand). An eSIM's page shows its
subscriptions inline."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock
from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.esims.admin import EsimAdmin
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog, Subscription
from esimdesk.subscriptions.running import plan_running


class SubscriptionInline(admin.StackedInline):
    model = Subscription
    extra = 0
    fk_name = "esim"
    readonly_fields = ["plan", "created_at"]


EsimAdmin.inlines.append(SubscriptionInline)


class PlanRunningFilter(admin.SimpleListFilter):
    """eSIMs with a plan running now, as the console's *Active eSIMs* figure counts them."""

    title = _("plan running now")
    parameter_name = "plan_running"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Esim]) -> QuerySet[Esim]:
        if self.value() == "yes":
            return queryset.filter(plan_running(clock.now()))
        if self.value() == "no":
            return queryset.exclude(plan_running(clock.now()))
        return queryset


EsimAdmin.list_filter = [PlanRunningFilter, *EsimAdmin.list_filter]


class AllowanceInline(admin.TabularInline):
    model = Allowance
    extra = 0
    readonly_fields = ["kind", "source", "total", "used", "overage"]
    can_delete = False


@admin.register(Period)
class PeriodAdmin(AuditedAdmin):
    list_display = ["id", "subscription", "sequence", "plan", "starts_at", "ends_at", "state"]
    list_filter = ["state"]
    search_fields = ["subscription__esim__iccid", "subscription__esim__owner__email"]
    readonly_fields = ["subscription", "sequence", "plan", "starts_at", "ends_at", "state",
                       "created_at"]
    inlines = [AllowanceInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # periods come from orders and renewals; the form cannot name a plan


@admin.register(Subscription)
class SubscriptionAdmin(AuditedAdmin):
    list_display = ["id", "esim", "group", "plan", "auto_renew", "created_at"]
    search_fields = ["esim__iccid", "esim__owner__email", "esim__owner__phone"]
    readonly_fields = ["esim", "group", "plan", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # subscriptions come from fulfilment; the form cannot name a plan


@admin.register(Allowance)
class AllowanceAdmin(ReadOnlyAdmin):
    list_display = ["period", "kind", "source", "total", "used", "overage"]
    list_filter = ["kind", "source"]
    search_fields = ["period__subscription__esim__iccid"]


admin.site.register(ReminderLog, ReadOnlyAdmin,
                    list_display=["period", "kind", "created_at", "sent_at"],
                    list_filter=["kind"], search_fields=["period__subscription__esim__iccid"])
