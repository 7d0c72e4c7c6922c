"""Payments, their provider events, refunds, saved methods and automatic renewals in the staff
console: all read-only (refunds are made on a payment's refund page). An order's page shows
its payments inline."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from esimdesk.core.admin_base import ReadOnlyAdmin, ReadOnlyInline, money_column
from esimdesk.orders.admin import OrderAdmin
from esimdesk.payments.models import (
    Payment,
    PaymentEvent,
    Refund,
    RenewalAttempt,
    SavedMethod,
)


class PaymentInline(ReadOnlyInline):
    model = Payment
    amount_money = money_column("amount", "currency", _("amount"))
    readonly_fields = ["public_id", "provider", "provider_reference", "amount_money",
                       "status", "method", "failure_code", "created_at"]
    fields = readonly_fields


OrderAdmin.inlines.append(PaymentInline)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "order", "provider", "amount_money", "status",
                    "refunded_money", "method", "created_at", "refund_link"]
    list_select_related = ["order"]
    amount_money = money_column("amount", "currency", _("amount"))
    refunded_money = money_column("refunded", "currency", _("refunded"))

    @admin.display(description="Refund")
    def refund_link(self, payment: Payment) -> str:
        if payment.status != Payment.Status.SUCCEEDED or payment.refunded >= payment.amount:
            return "—"
        return format_html('<a href="{}">Refund…</a>',
                           reverse("staff_refund", args=[payment.public_id]))
    list_filter = ["provider", "status"]
    search_fields = ["public_id", "provider_reference", "order__number", "order__user__email"]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["provider", "event_id", "type", "outcome", "payment", "received_at"]
    list_filter = ["provider", "type", "outcome"]
    search_fields = ["event_id", "payment__public_id", "payment__order__number"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Refunds are made on a payment's refund page (permission ``payments.add_refund``)."""

    list_display = ["public_id", "payment", "amount_money", "status", "via", "reason",
                    "credit_note_number", "created_at"]
    list_select_related = ["payment"]
    amount_money = money_column("amount", "currency", _("amount"))
    list_filter = ["status", "via"]
    search_fields = ["public_id", "payment__public_id", "payment__order__number",
                     "payment__order__user__email"]


@admin.register(SavedMethod)
class SavedMethodAdmin(ReadOnlyAdmin):
    list_display = ["user", "provider", "label", "created_at", "removed_at"]
    search_fields = ["user__email", "user__phone", "label"]
    exclude = ["token", "customer_token"]


@admin.register(RenewalAttempt)
class RenewalAttemptAdmin(ReadOnlyAdmin):
    """Automatic renewals: what was tried, what is pending, what failed and why."""

    list_display = ["subscription", "sequence", "state", "tries", "next_try_at", "order",
                    "last_error", "updated_at"]
    list_filter = ["state"]
    search_fields = ["subscription__esim__iccid", "subscription__esim__owner__email",
                     "order__number"]
