"""Staff console lists of the provisioning records added with the supplier contract and the
simulator's callbacks. All append-only books: visible, never edited by hand (the simulator's
own actions are on /staff/simulator/, which audits who and why). The older provisioning
models are registered in ``staff/admin.py``."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.core.admin_base import ReadOnlyAdmin
from esimdesk.provisioning.models import (
    SimulatedAction,
    SimulatedCallback,
    SimulatedProfileEvent,
    SupplierAction,
    UpstreamEventReceipt,
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
