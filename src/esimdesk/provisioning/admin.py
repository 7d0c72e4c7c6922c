"""Staff console lists of the provisioning records added with the supplier contract and the
simulator's callbacks. All append-only books: visible, never edited by hand (the simulator's
own actions are on /staff/simulator/, which audits who and why)."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.core.admin_base import ReadOnlyAdmin
from esimdesk.provisioning.models import (
    Es2Order,
    Es2PlanRecord,
    Es2ProgressNotification,
    EsimGoOrder,
    SimulatedAction,
    SimulatedCallback,
    SimulatedPlanApplication,
    SimulatedProfile,
    SimulatedProfileEvent,
    SimulatedTopUp,
    SimulatedUsage,
    SupplierAction,
    UpstreamEventReceipt,
    UsageDrift,
)


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


@admin.register(SimulatedAction)
class SimulatedActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "profile", "reference"]
    list_filter = ["action"]
    search_fields = ["profile__iccid", "reference"]


@admin.register(SimulatedProfileEvent)
class SimulatedProfileEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "event_id", "profile", "previous", "status", "origin"]
    list_filter = ["status", "origin"]
    search_fields = ["profile__iccid", "event_id"]


@admin.register(SimulatedCallback)
class SimulatedCallbackAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "attempts", "last_http_status", "delivered_at",
                    "gave_up_at"]
    list_filter = ["kind"]
    search_fields = ["body"]


admin.site.register(SimulatedProfile, ReadOnlyAdmin,
                    list_display=["iccid", "reference", "plan_code", "status", "created_at"],
                    search_fields=["iccid", "reference"])


admin.site.register(SimulatedPlanApplication, ReadOnlyAdmin,
                    list_display=["reference", "profile", "plan_code", "created_at"])


admin.site.register(SimulatedTopUp, ReadOnlyAdmin, search_fields=["reference", "profile__iccid"],
                    list_display=["reference", "profile", "product_code", "data_bytes",
                                  "extend_days", "created_at"])


admin.site.register(SimulatedUsage, ReadOnlyAdmin, search_fields=["record_id", "iccid"],
                    list_display=["record_id", "iccid", "kind", "quantity", "occurred_at"])
# Reconciliation findings: open ones (no resolved_at) need a look.
admin.site.register(UsageDrift, ReadOnlyAdmin, search_fields=["iccid"],
                    list_display=["iccid", "period", "supplier", "ours", "theirs",
                                  "detected_at", "checked_at", "resolved_at"],
                    list_filter=["resolved_at"])


admin.site.register(Es2Order, ReadOnlyAdmin,
                    list_display=["reference", "iccid", "state", "matching_id", "updated_at"],
                    list_filter=["state"], search_fields=["reference", "iccid"])


admin.site.register(Es2PlanRecord, ReadOnlyAdmin,
                    list_display=["reference", "iccid", "action", "plan_code", "created_at"],
                    list_filter=["action"], search_fields=["reference", "iccid"])


admin.site.register(Es2ProgressNotification, ReadOnlyAdmin,
                    list_display=["iccid", "point_id", "status", "outcome", "occurred_at",
                                  "received_at"],
                    list_filter=["status", "outcome"], search_fields=["iccid", "eid"])


admin.site.register(EsimGoOrder, ReadOnlyAdmin,
                    list_display=["reference", "kind", "bundle", "order_reference", "iccid",
                                  "target_iccid", "requested_at"],
                    list_filter=["kind"],
                    search_fields=["reference", "order_reference", "iccid", "target_iccid"])
