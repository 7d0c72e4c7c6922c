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


class Payment(models.Model):
    """One attempt to pay an order with one provider. A declined attempt stays on record;
    paying again creates a new Payment for the same order."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for payment")
        SUCCEEDED = "succeeded", _("Paid")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.CharField(max_length=32, unique=True, default=new_payment_id)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=20)
    provider_reference = models.CharField(max_length=120)
    amount = models.BigIntegerField(help_text="minor units")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    method = models.CharField(max_length=100, blank=True, help_text="e.g. Visa •••• 4242")
    next_action = models.JSONField(default=dict, blank=True)
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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


PAYMENT_STATES = StateMachine("payment", {
    Payment.Status.PENDING: {Payment.Status.SUCCEEDED, Payment.Status.DECLINED,
                             Payment.Status.CANCELLED},
    Payment.Status.SUCCEEDED: set(),
    Payment.Status.DECLINED: set(),
    Payment.Status.CANCELLED: set(),
})


class PaymentEvent(models.Model):
    """Append-only record of every message a provider sent about a payment.

    Unique per (provider, event id): a replayed message is recognised and changes nothing.
    """

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=200)
    payment = models.ForeignKey(Payment, null=True, on_delete=models.PROTECT,
                                related_name="events")
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=clock.now)
    outcome = models.CharField(max_length=40, blank=True,
                               help_text="what esimdesk did with it")

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"],
                                               name="uniq_provider_event")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} {self.type}"
