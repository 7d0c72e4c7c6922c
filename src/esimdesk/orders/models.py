from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.core.states import StateMachine
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Period

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number() -> str:
    return "ED-" + "".join(secrets.choice(_CROCKFORD) for _ in range(8))


class Order(models.Model):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        PAID = "paid", _("Paid, being prepared")
        FULFILLED = "fulfilled", _("Completed")
        FULFILMENT_FAILED = "fulfilment_failed", _("Needs attention")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(max_length=20, unique=True, default=new_order_number)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="orders")
    currency = models.CharField(max_length=3)
    total = models.BigIntegerField(help_text="minor units")
    status = models.CharField(max_length=20, choices=Status.choices,
                              default=Status.AWAITING_PAYMENT)
    language = models.CharField(max_length=10, default="en")
    paid_with = models.CharField(max_length=100, blank=True,
                                 help_text="provider and method of the successful payment")
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(total__gte=0),
                                              name="order_total_not_negative")]

    def __str__(self) -> str:
        return self.number

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)


ORDER_STATES = StateMachine("order", {
    Order.Status.AWAITING_PAYMENT: {Order.Status.PAID, Order.Status.CANCELLED},
    Order.Status.PAID: {Order.Status.FULFILLED, Order.Status.FULFILMENT_FAILED},
    Order.Status.FULFILMENT_FAILED: {Order.Status.FULFILLED},
    Order.Status.FULFILLED: set(),
    Order.Status.CANCELLED: set(),
})


class OrderLine(models.Model):
    class Type(models.TextChoices):
        NEW_ESIM = "new_esim", _("New eSIM")
        RENEWAL = "renewal", _("Renewal")
        TOP_UP = "top_up", _("Top-up")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    type = models.CharField(max_length=10, choices=Type.choices)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT)
    esim = models.ForeignKey(Esim, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="order_lines",
                             help_text="the renewed eSIM, or the one this line created")
    period = models.OneToOneField(Period, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="order_line")
    description = models.CharField(max_length=200)
    amount = models.BigIntegerField(help_text="minor units")
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.type} {self.plan.code}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.order.currency)

    @property
    def upstream_reference(self) -> str:
        """The idempotent reference this line carries upstream."""
        return f"esimdesk-line-{self.pk}"


class Receipt(models.Model):
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="receipt")
    number = models.CharField(max_length=30, unique=True)
    issued_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.number
