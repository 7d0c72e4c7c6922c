from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
        AWAITING_PAYMENT = "awaiting_payment", gettext_lazy("Awaiting payment")
        PAID = "paid", gettext_lazy("Paid, being prepared")
        FULFILLED = "fulfilled", gettext_lazy("Completed")
        FULFILMENT_FAILED = "fulfilment_failed", gettext_lazy("Needs attention")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    number = models.CharField(max_length=20, unique=True, default=new_order_number)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="orders")
    currency = models.CharField(max_length=3)
    total = models.BigIntegerField(help_text="minor units")
    status = models.CharField(max_length=20, choices=Status.choices,
                              default=Status.AWAITING_PAYMENT)
    language = models.CharField(max_length=10, default="en")
    paid_provider = models.CharField(max_length=20, blank=True,
                                     help_text="provider of the successful payment")
    paid_method = models.CharField(max_length=100, blank=True,
                                   help_text="e.g. Visa •••• 4242, as the provider reported it")
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

    @property
    def paid_with(self) -> str:
        """'Test card (sandbox) · Visa •••• 4242', in the active language."""
        if not self.paid_provider:
            return ""
        label = str(PROVIDER_LABELS.get(self.paid_provider, self.paid_provider))
        return f"{label} · {self.paid_method}" if self.paid_method else label


# Display names of payment providers, filled in by the payments app (which sits above
# orders), so history and receipts name the method in the reader's language.
PROVIDER_LABELS: dict[str, Any] = {}


ORDER_STATES = StateMachine("order", {
    Order.Status.AWAITING_PAYMENT: {Order.Status.PAID, Order.Status.CANCELLED},
    Order.Status.PAID: {Order.Status.FULFILLED, Order.Status.FULFILMENT_FAILED},
    Order.Status.FULFILMENT_FAILED: {Order.Status.FULFILLED},
    Order.Status.FULFILLED: set(),
    Order.Status.CANCELLED: set(),
})


class OrderLine(models.Model):
    class Type(models.TextChoices):
        NEW_ESIM = "new_esim", gettext_lazy("New eSIM")
        RENEWAL = "renewal", gettext_lazy("Renewal")
        TOP_UP = "top_up", gettext_lazy("Top-up")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    type = models.CharField(max_length=10, choices=Type.choices)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT)
    esim = models.ForeignKey(Esim, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="order_lines",
                             help_text="the renewed eSIM, or the one this line created")
    period = models.OneToOneField(Period, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="order_line")
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
    def label(self) -> str:
        return line_label(self.type, self.plan, self.esim)

    @property
    def upstream_reference(self) -> str:
        """The idempotent reference this line carries upstream."""
        return f"esimdesk-line-{self.pk}"


def line_label(line_type: str, plan: Plan, esim: Esim | None) -> str:
    """What a line buys, in the active language (never stored, so it follows the reader)."""
    if line_type == OrderLine.Type.RENEWAL and esim is not None:
        return _("Renewal of %(esim)s: %(plan)s") % {"esim": esim.display_name,
                                                    "plan": plan.name}
    return _("New eSIM: %(plan)s") % {"plan": plan.name}


class Receipt(models.Model):
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="receipt")
    number = models.CharField(max_length=30, unique=True)
    issued_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.number
