"""Staff console lists of the sandbox's books: the simulator's profiles, plans, top-ups, usage,
actions, status events and callbacks, and the sandbox provider's charges and refunds. All
append-only: visible, never edited by hand (the simulator's own actions are on
/staff/simulator/, which audits who and why)."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.core.admin_base import ReadOnlyAdmin
from esimdesk.sandbox.models import (
    SandboxRecord,
    SimulatedAction,
    SimulatedCallback,
    SimulatedPlanApplication,
    SimulatedProfile,
    SimulatedProfileEvent,
    SimulatedTopUp,
    SimulatedUsage,
)

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
admin.site.register(SandboxRecord, ReadOnlyAdmin,
                    list_display=["reference", "kind", "payment_id", "amount", "currency",
                                  "status", "created_at"],
                    search_fields=["reference", "payment_id"])


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
