"""Orders in the staff console, searchable by number, customer and ICCID, with their lines;
receipts are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order, OrderLine, Receipt

COST_FIELDS = ["cost", "cost_currency", "cost_rate", "cost_converted"]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["type", "plan", "esim", "period", "amount",
                       "fulfilled_at", "product", "when", "replaced_period", "target_period",
                       "credit", "refund_amount"]
    # Supplier costs are for finance (the margins), not for everyone who may see an order.
    exclude = ["allowances", *COST_FIELDS]


@admin.register(Order)
class OrderAdmin(AuditedAdmin):
    list_display = ["number", "user", "total", "currency", "status", "paid_provider",
                    "paid_method", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["number", "user__email", "user__phone", "lines__esim__iccid"]
    readonly_fields = ["number", "user", "currency", "total", "status", "language", "paid_at",
                       "fulfilled_at",
                       "paid_provider", "paid_method", "created_at"]
    # Payments add their own inline (payments/admin.py): they sit above orders.
    inlines: list[Any] = [OrderLineInline]
    actions = ["retry_fulfilment"]

    @admin.action(description="Retry fulfilment (every supplier again)")
    def retry_fulfilment(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done = orders.retry_fulfilment(order_ids=list(queryset.values_list("pk", flat=True)),
                                       actor=f"{request.user.pk}:{request.user}")
        self.message_user(request, f"{done} order(s) queued for fulfilment again.",
                          messages.SUCCESS if done else messages.WARNING)


admin.site.register(Receipt, ReadOnlyAdmin, search_fields=["number", "order__number"])


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ["order", "type", "plan", "esim", "amount", "credit", "refund_amount",
                    "fulfilled_at"]
    list_filter = ["type"]
    search_fields = ["order__number", "esim__iccid"]
    exclude = COST_FIELDS

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # The Money page's margin opens the lines of the orders paid in its window.
        if lookup in ("order__paid_at__gte", "order__paid_at__lt"):
            return True
        return bool(super().lookup_allowed(lookup, value, request))
