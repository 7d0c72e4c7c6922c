"""Staff console lists of the provisioning records: supplier actions, the calls made to
suppliers, callbacks received, each supplier's own books and the usage reconciliation's
findings. All append-only: visible, never
edited by hand. The simulator's books are registered by the sandbox app."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from esimdesk.core.admin_base import ReadOnlyAdmin
from esimdesk.provisioning.models import (
    Es2Order,
    Es2PlanRecord,
    Es2ProgressNotification,
    Es2UnknownDownload,
    EsimGoOrder,
    SupplierAction,
    SupplierCall,
    UpstreamEventReceipt,
    UsageDrift,
)
from esimdesk.provisioning.suppliers.es2plus import reconcile
from esimdesk.provisioning.suppliers.esimgo import ordering as esimgo_ordering


@admin.register(UpstreamEventReceipt)
class UpstreamEventReceiptAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "event_id", "iccid", "status", "outcome"]
    list_filter = ["provider", "status", "outcome"]
    search_fields = ["iccid", "event_id"]


@admin.register(SupplierAction)
class SupplierActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "provider", "action", "iccid", "reference", "outcome",
                    "done_at"]
    list_filter = ["provider", "action"]
    search_fields = ["iccid", "reference"]


admin.site.register(Es2Order, ReadOnlyAdmin,
                    list_display=["reference", "iccid", "state", "profile_type", "matching_id",
                                  "updated_at"],
                    list_filter=["state"],
                    search_fields=["reference", "iccid", "download_call_id"])


class _ReconciledFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("possibly allocated")), ("reconciled", _("reconciled"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "open":
            return queryset.filter(reconciled_at__isnull=True)
        if self.value() == "reconciled":
            return queryset.filter(reconciled_at__isnull=False)
        return queryset


@admin.register(Es2UnknownDownload)
class Es2UnknownDownloadAdmin(ReadOnlyAdmin):
    """downloadOrder calls whose outcome is unknown: the SM-DP+ may hold a profile for each
    that esimdesk never got. Staff look each call id up with the SM-DP+, cancel what it
    allocated, and mark it reconciled (docs/providers/es2plus.md)."""

    list_display = ["called_at", "reference", "function_call_identifier", "profile_type",
                    "error_code", "order_iccid", "reconciled_at", "reconciled_by"]
    list_filter = [_ReconciledFilter, "error_code"]
    search_fields = ["reference", "function_call_identifier", "order_iccid"]
    actions = ["mark_reconciled"]

    @admin.action(description=_("Mark reconciled with the SM-DP+"))
    def mark_reconciled(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        done = reconcile.mark_reconciled(ids=queryset.values_list("pk", flat=True),
                                         user=request.user)
        self.message_user(request, ngettext("%(count)d call marked reconciled.",
                                            "%(count)d calls marked reconciled.", done)
                          % {"count": done}, messages.SUCCESS)


admin.site.register(Es2PlanRecord, ReadOnlyAdmin,
                    list_display=["reference", "iccid", "action", "plan_code", "created_at"],
                    list_filter=["action"], search_fields=["reference", "iccid"])


admin.site.register(Es2ProgressNotification, ReadOnlyAdmin,
                    list_display=["iccid", "point_id", "status", "outcome", "occurred_at",
                                  "received_at"],
                    list_filter=["status", "outcome"], search_fields=["iccid", "eid"])


@admin.register(EsimGoOrder)
class EsimGoOrderAdmin(ReadOnlyAdmin):
    """State "possibly allocated": an order sent whose answer was lost; staff reconcile it
    with eSIM Go's portal if fulfilment moved on to another supplier, then mark it
    (docs/providers/esimgo.md)."""

    list_display = ["reference", "kind", "bundle", "state", "order_reference", "iccid",
                    "target_iccid", "requested_at", "last_error"]
    list_filter = ["state", "kind"]
    search_fields = ["reference", "order_reference", "iccid", "target_iccid"]
    actions = ["mark_reconciled"]

    @admin.action(description=_("Mark reconciled (checked in eSIM Go's portal)"))
    def mark_reconciled(self, request: HttpRequest, queryset: QuerySet[EsimGoOrder]) -> None:
        done = esimgo_ordering.mark_reconciled(pks=list(queryset.values_list("pk", flat=True)),
                                               actor=f"{request.user.pk}:{request.user}")
        self.message_user(request, ngettext(
            "%(count)d possibly allocated order marked reconciled.",
            "%(count)d possibly allocated orders marked reconciled.", done) % {"count": done},
            messages.SUCCESS if done else messages.WARNING)


# Reconciliation findings: open ones (no resolved_at) need a look.
admin.site.register(UsageDrift, ReadOnlyAdmin, search_fields=["iccid"],
                    list_display=["iccid", "period", "supplier", "ours", "theirs",
                                  "detected_at", "checked_at", "resolved_at"],
                    list_filter=["resolved_at"])


# Every call made to a supplier (the list behind the console's supplier health figures):
# filter by supplier, operation and outcome, by day.
admin.site.register(SupplierCall, ReadOnlyAdmin,
                    list_display=["at", "supplier", "operation", "outcome", "duration_ms"],
                    list_filter=["supplier", "operation", "outcome"],
                    date_hierarchy="at", search_fields=["supplier"])
