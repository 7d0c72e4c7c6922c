from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.core.states import StateMachine
from esimdesk.orders.models import Order


def new_payment_id() -> str:
    return "pay_" + secrets.token_urlsafe(12)


def new_refund_id() -> str:
    return "ref_" + secrets.token_urlsafe(12)


class Payment(models.Model):
    """One attempt to pay an order with one provider. A declined attempt stays on record;
    paying again creates a new Payment for the same order."""

    class Status(models.TextChoices):
        # Recorded before the provider is asked to start it; the provider's answer makes it
        # pending (or failed). One left starting is swept as failed (``sweeps``).
        STARTING = "starting", _("Being started")
        PENDING = "pending", _("Waiting for payment")
        SUCCEEDED = "succeeded", _("Paid")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")
        DUPLICATE = "duplicate", _("Paid twice: refunded")
        FAILED = "failed", _("Could not be started")

    public_id = models.CharField(max_length=32, unique=True, default=new_payment_id,
                                 verbose_name=_("reference"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments",
                              verbose_name=_("order"))
    provider = models.CharField(max_length=20, verbose_name=_("provider"))
    provider_reference = models.CharField(max_length=120, verbose_name=_("provider reference"))
    amount = models.BigIntegerField(help_text=_("minor units"), verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING,
                              verbose_name=_("status"))
    method = models.CharField(max_length=100, blank=True, help_text=_("e.g. Visa •••• 4242"),
                              verbose_name=_("method"))
    device = models.CharField(max_length=8, default="desktop",
                              help_text=_("desktop (QR where offered) or mobile (redirect)"),
                              verbose_name=_("device"))
    off_session = models.BooleanField(default=False, help_text=_("charged a saved method"),
                                      verbose_name=_("off session"))
    refunded = models.BigIntegerField(default=0, help_text=_("minor units refunded so far"),
                                      verbose_name=_("refunded"))
    next_action = models.JSONField(default=dict, blank=True, verbose_name=_("next action"))
    failure_code = models.CharField(max_length=60, blank=True, verbose_name=_("failure code"))
    failure_message = models.CharField(max_length=255, blank=True,
                                       verbose_name=_("failure message"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=clock.now, verbose_name=_("updated at"))
    succeeded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("succeeded at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_reference"],
                                    name="uniq_provider_reference"),
            # At most one successful payment per order: a second success is impossible.
            models.UniqueConstraint(fields=["order"], condition=Q(status="succeeded"),
                                    name="one_success_per_order"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def refundable(self) -> Money:
        return Money(self.amount - self.refunded, self.currency)


# A cancelled attempt (superseded by a newer one) can still be paid at the provider: that
# money is real, so it may still succeed, or become a duplicate that is refunded in full.
PAYMENT_STATES = StateMachine("payment", {
    Payment.Status.STARTING: {Payment.Status.PENDING, Payment.Status.FAILED},
    Payment.Status.PENDING: {Payment.Status.SUCCEEDED, Payment.Status.DECLINED,
                             Payment.Status.CANCELLED, Payment.Status.DUPLICATE},
    Payment.Status.CANCELLED: {Payment.Status.SUCCEEDED, Payment.Status.DUPLICATE},
    Payment.Status.SUCCEEDED: set(),
    Payment.Status.DECLINED: set(),
    Payment.Status.DUPLICATE: set(),
    Payment.Status.FAILED: set(),
})


class PaymentEvent(models.Model):
    """Append-only record of every message a provider sent about a payment.

    Unique per (provider, event id): a replayed message is recognised and changes nothing.
    """

    provider = models.CharField(max_length=20, verbose_name=_("provider"))
    event_id = models.CharField(max_length=200, verbose_name=_("event id"))
    payment = models.ForeignKey(Payment, null=True, on_delete=models.PROTECT,
                                related_name="events", verbose_name=_("payment"))
    type = models.CharField(max_length=40, verbose_name=_("type"))
    provider_reference = models.CharField(max_length=120, blank=True,
                                          verbose_name=_("provider reference"))
    amount = models.BigIntegerField(null=True, blank=True, help_text=_("minor units, as stated"),
                                    verbose_name=_("amount"))
    currency = models.CharField(max_length=3, blank=True, verbose_name=_("currency"))
    refund_reference = models.CharField(max_length=120, blank=True,
                                        verbose_name=_("refund reference"))
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    received_at = models.DateTimeField(default=clock.now, verbose_name=_("received at"))
    outcome = models.CharField(max_length=40, blank=True,
                               help_text=_("what esimdesk did with it"), verbose_name=_("outcome"))

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["received_at", "id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"],
                                               name="uniq_provider_event")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} {self.type}"


class Refund(models.Model):
    """Money paid back on one payment, all or part. ``public_id`` is the idempotency key sent
    to the provider, so retrying a refund never pays back twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Refund in progress")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Refund failed")

    class Via(models.TextChoices):
        STAFF = "staff", _("Staff")
        CUSTOMER = "customer", _("Customer (refund policy)")
        PROVIDER = "provider", _("Provider dashboard")

    public_id = models.CharField(max_length=32, unique=True, default=new_refund_id,
                                 verbose_name=_("reference"))
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds",
                                verbose_name=_("payment"))
    amount = models.BigIntegerField(help_text=_("minor units"), verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING,
                              verbose_name=_("status"))
    via = models.CharField(max_length=10, choices=Via.choices, verbose_name=_("via"))
    reason = models.CharField(max_length=255, blank=True, verbose_name=_("reason"))
    requested_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("requested by"))
    provider_refund_id = models.CharField(max_length=120, blank=True,
                                          verbose_name=_("provider refund ID"))
    failure_message = models.CharField(max_length=255, blank=True,
                                       verbose_name=_("failure message"))
    credit_note_number = models.CharField(max_length=30, blank=True,
                                          verbose_name=_("credit note number"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    succeeded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("succeeded at"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0),
                                              name="refund_amount_positive")]

    def __str__(self) -> str:
        return self.public_id

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


REFUND_STATES = StateMachine("refund", {
    Refund.Status.PENDING: {Refund.Status.SUCCEEDED, Refund.Status.FAILED},
    Refund.Status.SUCCEEDED: set(),
    Refund.Status.FAILED: set(),
})


class SavedMethod(models.Model):
    """A payment method a provider keeps for off-session charges (auto-renew). Only the
    provider's tokens and a label a person recognises: never card data."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE,
                             related_name="saved_methods", verbose_name=_("user"))
    provider = models.CharField(max_length=20, verbose_name=_("provider"))
    token = models.CharField(max_length=200, verbose_name=_("token"))
    customer_token = models.CharField(max_length=200, blank=True, verbose_name=_("customer token"))
    label = models.CharField(max_length=100, verbose_name=_("label"))
    is_default = models.BooleanField(default=False, help_text=_("tried first for auto-renew"),
                                     verbose_name=_("default"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    removed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("removed at"))

    class Meta:
        verbose_name = _("saved payment method")
        verbose_name_plural = _("saved payment methods")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "token"],
                                               name="uniq_saved_method")]

    def __str__(self) -> str:
        return f"{self.provider}: {self.label}"


class RenewalAttempt(models.Model):
    """Automatic renewal of one subscription into its next period. Unique on (subscription,
    sequence of the period it buys): whatever runs twice, that period is charged once."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CHARGING = "charging", _("Charging")
        RETRY_WAIT = "retry_wait", _("Will try again")
        SUCCEEDED = "succeeded", _("Renewed")
        PAY_LINK_SENT = "pay_link_sent", _("Waiting for the customer to pay")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE,
                                     related_name="renewal_attempts",
                                     verbose_name=_("subscription"))
    sequence = models.PositiveIntegerField(help_text=_("sequence of the period being bought"),
                                           verbose_name=_("number"))
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="renewal_attempts", verbose_name=_("order"))
    state = models.CharField(max_length=14, choices=State.choices, default=State.SCHEDULED,
                             verbose_name=_("state"))
    tries = models.PositiveSmallIntegerField(default=0, help_text=_("declined rounds so far"),
                                             verbose_name=_("tries"))
    next_try_at = models.DateTimeField(default=clock.now, verbose_name=_("next try at"))
    current_payment_id = models.CharField(max_length=32, blank=True,
                                          help_text=_("reused while an outcome is unknown"),
                                          verbose_name=_("current payment ID"))
    methods_tried = models.JSONField(default=list, blank=True, verbose_name=_("methods tried"))
    last_error = models.CharField(max_length=255, blank=True, verbose_name=_("last error"))
    low_data = models.BooleanField(
        default=False, db_default=False,
        help_text=_("recorded because data ran low: the renewal starts when the "
                    "data runs out (or at the period's end if it lasts)"),
                    verbose_name=_("low data"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=clock.now, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("renewal attempt")
        verbose_name_plural = _("renewal attempts")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "sequence"],
                                               name="one_renewal_per_period")]
        indexes = [models.Index(fields=["state", "next_try_at"]),
                   # The business figures count attempts settled in a window.
                   models.Index(fields=["updated_at"], name="renewal_attempt_updated")]

    def __str__(self) -> str:
        return _("renewal %(sequence)s of subscription %(subscription)s: %(state)s") % {
            "sequence": self.sequence, "subscription": self.subscription_id,
            "state": self.get_state_display()}
