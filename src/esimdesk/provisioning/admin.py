"""Staff console lists of the provisioning records added with the supplier contract. All
append-only books: visible, never edited by hand. The older provisioning models are registered
in ``staff/admin.py``; the simulator's in the sandbox app's ``admin.py``."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.core.admin_base import ReadOnlyAdmin
from esimdesk.provisioning.models import SupplierAction, UpstreamEventReceipt


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
