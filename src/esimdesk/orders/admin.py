"""Orders in the staff console, searchable by number, customer and ICCID, with their lines;
receipts are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from esimdesk.core.admin_base import ReadOnlyAdmin, ReadOnlyInline, money_column
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order, OrderLine, Receipt

COST_FIELDS = ["cost", "cost_currency", "cost_rate", "cost_converted"]


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["type", "plan", "esim", "period", "amount_money", "credit_money",
              "refund_amount_money", "fulfilled_at"]
    readonly_fields = fields
    amount_money = money_column("amount", "order__currency", _("amount"))
    credit_money = money_column("credit", "order__currency", _("credit"))
    refund_amount_money = money_column("refund_amount", "order__currency", _("refunded"))


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    # Orders come from checkout, which prices them and takes the payment; a hand-made,
    # edited or deleted order would be money with no record of how it moved. Staff act on
    # an order through its actions (retry, refund, reissue), which audit what they do.

    list_display = ["number", "user", "total_money", "status", "paid_with", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["number", "user__email", "user__phone", "lines__esim__iccid"]
    readonly_fields = ["number", "user", "total_money", "status", "language", "paid_at",
                       "fulfilled_at", "paid_with", "created_at"]
    exclude = ["total", "currency", "paid_provider", "paid_method"]
    total_money = money_column("total", "currency", _("total"))

    @admin.display(description=_("paid with"), ordering="paid_provider")
    def paid_with(self, order: Order) -> str:
        return order.paid_with or "—"

    # Payments add their own inline (payments/admin.py): they sit above orders.
    inlines: list[Any] = [OrderLineInline]
    actions = ["retry_fulfilment"]

    @admin.action(description=_("Retry fulfilment (every supplier again)"),
                  permissions=["retry"])
    def retry_fulfilment(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done = orders.retry_fulfilment(order_ids=list(queryset.values_list("pk", flat=True)),
                                       actor=f"{request.user.pk}:{request.user}")
        self.message_user(request, ngettext("%(count)d order queued for fulfilment again.",
                                            "%(count)d orders queued for fulfilment again.",
                                            done) % {"count": done},
                          messages.SUCCESS if done else messages.WARNING)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """Retrying sends the order to the suppliers again: for staff who may change
        orders, not for those who only read them."""
        return bool(request.user.has_perm("orders.change_order"))


admin.site.register(Receipt, ReadOnlyAdmin, search_fields=["number", "order__number"])


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ["order", "type", "plan", "esim", "amount_money", "credit_money",
                    "refund_amount_money", "fulfilled_at"]
    list_select_related = ["order", "plan", "esim"]
    amount_money = money_column("amount", "order__currency", _("amount"))
    credit_money = money_column("credit", "order__currency", _("credit"))
    refund_amount_money = money_column("refund_amount", "order__currency", _("refunded"))
    list_filter = ["type"]
    search_fields = ["order__number", "esim__iccid"]
    exclude = COST_FIELDS

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # The Money page's margin opens the lines of the orders paid in its window.
        if lookup in ("order__paid_at__gte", "order__paid_at__lt"):
            return True
        return bool(super().lookup_allowed(lookup, value, request))
