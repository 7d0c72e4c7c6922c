"""The staff console: Django admin for every model, searchable by ICCID, e-mail, phone and
order number. The audit trail and provider events are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from esimdesk import config
from esimdesk.accounts.models import ApiKey, SignInCounter, SmsResetCode, User
from esimdesk.core import audit, clock, console_settings
from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.core.errors import DomainError, IllegalTransition
from esimdesk.core.models import AuditEntry, ConsoleSetting, Heartbeat, IdempotencyRecord
from esimdesk.esims import services as esims
from esimdesk.esims import suspension
from esimdesk.esims.models import Esim, Reissue
from esimdesk.groups.models import Group, Membership
from esimdesk.notifications import services as notifications
from esimdesk.notifications.models import Notification, NotificationPreference, OutboxMessage
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order, OrderLine, Receipt
from esimdesk.payments.models import (
    Payment,
    PaymentEvent,
    Refund,
    RenewalAttempt,
    SandboxRecord,
    SavedMethod,
)
from esimdesk.provisioning.models import (
    Es2Order,
    Es2PlanRecord,
    Es2ProgressNotification,
    EsimGoOrder,
    SimulatedPlanApplication,
    SimulatedProfile,
    SimulatedTopUp,
    SimulatedUsage,
    UsageDrift,
)
from esimdesk.sharedplans.models import MonthlyInvoice

# The catalog (plans, prices, supplier bundles, exchange rates) registers in its own module.
from esimdesk.staff import admin_catalog  # noqa: F401 - registers plans, prices, bundles, rates
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog, Subscription


@admin.register(User)
class UserAdmin(AuditedAdmin):
    list_display = ["id", "email", "phone", "name", "language", "time_zone", "is_staff",
                    "date_joined"]
    search_fields = ["email", "phone", "name"]
    list_filter = ["is_staff", "is_active", "language"]
    exclude = ["password"]
    readonly_fields = ["last_login", "date_joined"]


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]



class SubscriptionInline(admin.StackedInline):
    model = Subscription
    extra = 0
    fk_name = "esim"
    readonly_fields = ["plan", "created_at"]


@admin.register(Esim)
class EsimAdmin(AuditedAdmin):
    list_display = ["iccid", "owner", "label", "status", "upstream", "created_at"]
    list_filter = ["status", "upstream"]
    search_fields = ["iccid", "eid", "owner__email", "owner__phone", "label",
                     "order_lines__order__number"]
    # The status moves only through the state machine (the actions below), never by hand.
    readonly_fields = ["iccid", "status", "smdp_address", "matching_id", "upstream",
                       "upstream_reference", "created_at", "installed_at"]
    inlines = [SubscriptionInline]
    actions = ["mark_installed", "suspend", "resume"]

    def _move(self, request: HttpRequest, queryset: QuerySet[Esim], to: str) -> None:
        moved = 0
        for esim in queryset.order_by("pk"):
            try:
                esims.transition(esim=esim, to=to, actor_type="staff",
                                 actor=f"{request.user.pk}:{request.user}",
                                 reason="staff console")
                moved += 1
            except IllegalTransition as error:
                self.message_user(request, f"{esim.iccid}: cannot go from {error.source} to "
                                  f"{error.target}", messages.ERROR)
        if moved:
            self.message_user(request, f"{moved} eSIM(s) now {to}", messages.SUCCESS)

    @admin.action(description="Mark installed")
    def mark_installed(self, request: HttpRequest, queryset: QuerySet[Esim]) -> None:
        self._move(request, queryset, Esim.Status.INSTALLED)

    def _supplier_move(self, request: HttpRequest, queryset: QuerySet[Esim],
                       service: Any) -> None:
        # Through the same service as the customer page, so the supplier is told too.
        moved = 0
        for esim in queryset.order_by("pk"):
            try:
                service(esim_id=esim.pk, actor=f"{request.user.pk}:{request.user}",
                        reason="staff console (admin action)")
                moved += 1
            except DomainError as error:
                self.message_user(request, f"{esim.iccid}: {error.message}", messages.ERROR)
        if moved:
            self.message_user(request, f"{moved} eSIM(s) changed; the supplier is told",
                              messages.SUCCESS)

    @admin.action(description="Suspend (tells the supplier)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Esim]) -> None:
        self._supplier_move(request, queryset, suspension.suspend)

    @admin.action(description="Resume (tells the supplier)")
    def resume(self, request: HttpRequest, queryset: QuerySet[Esim]) -> None:
        self._supplier_move(request, queryset, suspension.resume)


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


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["type", "plan", "esim", "period", "amount",
                       "fulfilled_at", "product", "when", "replaced_period", "target_period",
                       "credit", "refund_amount"]
    exclude = ["allowances"]


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    readonly_fields = ["public_id", "provider", "provider_reference", "amount", "currency",
                       "status", "method", "failure_code", "created_at"]
    fields = readonly_fields


@admin.register(Order)
class OrderAdmin(AuditedAdmin):
    list_display = ["number", "user", "total", "currency", "status", "paid_provider",
                    "paid_method", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["number", "user__email", "user__phone", "lines__esim__iccid"]
    readonly_fields = ["number", "user", "currency", "total", "status", "language", "paid_at",
                       "fulfilled_at",
                       "paid_provider", "paid_method", "created_at"]
    inlines = [OrderLineInline, PaymentInline]
    actions = ["retry_fulfilment"]

    @admin.action(description="Retry fulfilment (every supplier again)")
    def retry_fulfilment(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done = orders.retry_fulfilment(order_ids=list(queryset.values_list("pk", flat=True)),
                                       actor=f"{request.user.pk}:{request.user}")
        self.message_user(request, f"{done} order(s) queued for fulfilment again.",
                          messages.SUCCESS if done else messages.WARNING)


admin.site.register(Receipt, ReadOnlyAdmin, search_fields=["number", "order__number"])
admin.site.register(MonthlyInvoice, ReadOnlyAdmin,  # issued by the sweep, paid on its page
                    search_fields=["number", "group__name", "group__company_name"],
                    list_display=["number", "group", "month", "status", "due_at"])
admin.site.register(Reissue, ReadOnlyAdmin,  # made on the activation page, never edited
                    search_fields=["old_esim__iccid", "new_esim__iccid", "reference"],
                    list_display=["old_esim", "new_esim", "status", "requested_by", "created_at"])


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "order", "provider", "amount", "currency", "status",
                    "refunded", "method", "created_at", "refund_link"]

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


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_type", "actor", "action", "object_type", "object_id"]
    list_filter = ["actor_type", "object_type", "action"]
    search_fields = ["object_id", "actor", "action"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "kind", "to", "status", "attempts", "sent_at",
                    "read_at"]
    list_filter = ["channel", "kind", "status"]
    search_fields = ["to", "dedupe_key", "external_id", "user__email", "user__phone"]
    exclude = ["attachments"]
    actions = ["resend"]

    @admin.action(description="Send failed messages again")
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        queued = notifications.resend_failed(staff=request.user,
                                             notification_ids=queryset.values_list("pk",
                                                                                   flat=True))
        self.message_user(request, f"{queued} message(s) queued again", messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(AuditedAdmin):
    """Editable: support may switch a channel off when a customer asks by phone or chat.
    Transactional messages still go out whatever is set here."""

    list_display = ["user", "email", "sms", "inapp", "reminders", "renewals", "updated_at"]
    list_filter = ["email", "sms", "inapp", "reminders", "renewals"]
    search_fields = ["user__email", "user__phone"]
    raw_id_fields = ["user"]
    readonly_fields = ["updated_at"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "to", "subject"]
    search_fields = ["to", "subject"]
    exclude = ["attachments"]


admin.site.register(IdempotencyRecord, ReadOnlyAdmin, list_display=["scope", "key",
                                                                    "status_code", "created_at"])
admin.site.register(Heartbeat, ReadOnlyAdmin, list_display=["process", "seen_at"])
admin.site.register(Group, AuditedAdmin, search_fields=["name", "owner__email"])
admin.site.register(Membership, AuditedAdmin)
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


@admin.register(SmsResetCode)
class SmsResetCodeAdmin(ReadOnlyAdmin):
    list_display = ["user", "created_at", "expires_at", "attempts", "used_at"]
    search_fields = ["user__phone", "user__email"]
    exclude = ["code_hash"]


@admin.register(SignInCounter)
class SignInCounterAdmin(ReadOnlyAdmin):
    """The sign-in policy's counters on the database store (hashed: unlock a customer from
    their page in the console; these rows only show that the policy is counting)."""

    list_display = ["name", "hits", "expires_ms"]
    search_fields = ["name"]


@admin.register(Allowance)
class AllowanceAdmin(ReadOnlyAdmin):
    list_display = ["period", "kind", "source", "total", "used", "overage"]
    list_filter = ["kind", "source"]
    search_fields = ["period__subscription__esim__iccid"]


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ["order", "type", "plan", "esim", "amount", "credit", "refund_amount",
                    "fulfilled_at"]
    list_filter = ["type"]
    search_fields = ["order__number", "esim__iccid"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Refunds are made on a payment's refund page (permission ``payments.add_refund``)."""

    list_display = ["public_id", "payment", "amount", "currency", "status", "via", "reason",
                    "credit_note_number", "created_at"]
    list_filter = ["status", "via"]
    search_fields = ["public_id", "payment__public_id", "payment__order__number",
                     "payment__order__user__email"]


@admin.register(SavedMethod)
class SavedMethodAdmin(ReadOnlyAdmin):
    list_display = ["user", "provider", "label", "created_at", "removed_at"]
    search_fields = ["user__email", "user__phone", "label"]
    exclude = ["token", "customer_token"]


admin.site.register(SandboxRecord, ReadOnlyAdmin,
                    list_display=["reference", "kind", "payment_id", "amount", "currency",
                                  "status", "created_at"],
                    search_fields=["reference", "payment_id"])


class ConsoleSettingForm(forms.ModelForm):
    name = forms.ChoiceField(choices=[(o.name, o.name) for o in config.OPTIONS
                                      if config.console_editable(o.name)])
    value = forms.CharField(required=True, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="Stored encrypted. Secret values are never shown again.")

    class Meta:
        model = ConsoleSetting
        fields = ["name"]


@admin.register(ConsoleSetting)
class ConsoleSettingAdmin(admin.ModelAdmin):
    """Provider keys and switches set here win over the environment (within seconds)."""

    form = ConsoleSettingForm
    list_display = ["name", "shown_value", "updated_at", "updated_by"]

    @admin.display(description="Value")
    def shown_value(self, setting: ConsoleSetting) -> str:
        option = next((o for o in config.OPTIONS if o.name == setting.name), None)
        if option is None or option.secret:
            return "•••• (set)"
        return console_settings.decrypt(setting.value_encrypted)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            obj.value_encrypted = console_settings.encrypt(form.cleaned_data["value"].strip())
            obj.updated_by = f"{request.user.pk}:{request.user}"
            obj.updated_at = clock.now()
            obj.save()
            # The value itself stays out of the audit trail: it may be a key.
            audit.record_by_user(user=request.user, obj=obj, action="console_setting.set",
                                 after={"name": obj.name})
        console_settings.forget()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit.record_by_user(user=request.user, obj=obj, action="console_setting.delete",
                                 before={"name": obj.name})
            obj.delete()
        console_settings.forget()


admin.site.register(ReminderLog, ReadOnlyAdmin,
                    list_display=["period", "kind", "created_at", "sent_at"],
                    list_filter=["kind"], search_fields=["period__subscription__esim__iccid"])


@admin.register(RenewalAttempt)
class RenewalAttemptAdmin(ReadOnlyAdmin):
    """Automatic renewals: what was tried, what is pending, what failed and why."""

    list_display = ["subscription", "sequence", "state", "tries", "next_try_at", "order",
                    "last_error", "updated_at"]
    list_filter = ["state"]
    search_fields = ["subscription__esim__iccid", "subscription__esim__owner__email",
                     "order__number"]


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
