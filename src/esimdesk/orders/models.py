from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.catalog.models import Plan, TopUpProduct
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.core.states import StateMachine
from esimdesk.esims.models import Esim
from esimdesk.orders.kinds import registry as kinds
from esimdesk.subscriptions.models import Allowance, Period

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number() -> str:
    return "ED-" + "".join(secrets.choice(_CROCKFORD) for _n in range(8))


class Order(models.Model):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        PAID = "paid", _("Paid, being prepared")
        FULFILLED = "fulfilled", _("Completed")
        FULFILMENT_FAILED = "fulfilment_failed", _("Needs attention")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(max_length=20, unique=True, default=new_order_number,
                              verbose_name=_("number"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="orders", verbose_name=_("customer"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    total = models.BigIntegerField(help_text=_("minor units"),
                                   verbose_name=_("total"))
    status = models.CharField(max_length=20, choices=Status.choices,
                              default=Status.AWAITING_PAYMENT, verbose_name=_("status"))
    # Each language named in itself, as the language switch names it.
    language = models.CharField(max_length=10, default="en", verbose_name=_("language"),
                                choices=settings.LANGUAGES)
    paid_provider = models.CharField(max_length=20, blank=True,
                                     help_text=_("provider of the successful payment"),
                                     verbose_name=_("paid with"))
    paid_method = models.CharField(max_length=100, blank=True,
                                   help_text=_("e.g. Visa •••• 4242, as the provider reported it"),
                                   verbose_name=_("payment method"))
    created_at = models.DateTimeField(default=clock.now, db_index=True,
                                      verbose_name=_("created at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    fulfilled_at = models.DateTimeField(null=True, blank=True,
                                        verbose_name=_("fulfilled at"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(total__gte=0),
                                              name="order_total_not_negative")]
        indexes = [
            # The business figures count orders by when they were paid and fulfilled, and
            # the activation screen lists those waiting or failed (a few among many).
            models.Index(fields=["paid_at"], name="order_paid_at"),
            models.Index(fields=["fulfilled_at"], name="order_fulfilled_at"),
            models.Index(fields=["status", "paid_at"], name="order_needs_fulfilment",
                         condition=Q(status__in=["paid", "fulfilment_failed"])),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)

    @property
    def makes_esim(self) -> bool:
        """One of the order's lines creates an eSIM, so it has install links (a renewal or a
        top-up has none). Reads prefetched lines when there are."""
        return any(line.makes_esim for line in self.lines.all())

    @property
    def paid_with(self) -> str:
        """'Test card (sandbox) · Visa •••• 4242', in the active language."""
        if not self.paid_provider:
            return ""
        label = str(PROVIDER_LABELS.get(self.paid_provider, self.paid_provider))
        return f"{label} · {self.paid_method}" if self.paid_method else label


# Display names of payment providers, filled in by the payments app (which sits above
# orders), so history and receipts name the method in the reader's language.
# "none": an order whose total is zero (a plan change the credit fully covers) needs no
# payment and is marked paid without one.
NO_PAYMENT = "none"
PROVIDER_LABELS: dict[str, Any] = {NO_PAYMENT: _("No payment needed (credit)")}


ORDER_STATES = StateMachine("order", {
    Order.Status.AWAITING_PAYMENT: {Order.Status.PAID, Order.Status.CANCELLED},
    Order.Status.PAID: {Order.Status.FULFILLED, Order.Status.FULFILMENT_FAILED},
    Order.Status.FULFILMENT_FAILED: {Order.Status.FULFILLED},
    Order.Status.FULFILLED: set(),
    Order.Status.CANCELLED: set(),
})


class OrderLine(models.Model):
    class When(models.TextChoices):
        NOW = "now", _("now")
        PERIOD_END = "period_end", _("at the end of the current period")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines",
                              verbose_name=_("order"))
    #: which ``orders.kinds`` kind handles the line (the choices are the registered kinds)
    type = models.CharField(max_length=12, choices=kinds.choices, verbose_name=_("type"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT,
                             help_text=_("the plan bought; for a top-up, the plan it tops up"),
                             verbose_name=_("plan"))
    esim = models.ForeignKey(Esim, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="order_lines",
                             help_text=_("the renewed eSIM, or the one this line created"),
                             verbose_name=_("eSIM"))
    period = models.OneToOneField(Period, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="order_line",
                                  help_text=_("the period this line bought"),
                                  verbose_name=_("period"))
    amount = models.BigIntegerField(help_text=_("minor units charged for this line"),
                                    verbose_name=_("amount"))
    fulfilled_at = models.DateTimeField(null=True, blank=True,
                                        verbose_name=_("fulfilled at"))
    supplier_index = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("which configured supplier is being tried (failover moves on)"),
        verbose_name=_("supplier index"))
    supplier_attempts = models.PositiveSmallIntegerField(
        default=0, help_text=_("passing failures at the current supplier"),
        verbose_name=_("supplier attempts"))
    # Top-ups.
    product = models.ForeignKey(TopUpProduct, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="order_lines", verbose_name=_("product"))
    target_period = models.ForeignKey(Period, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="top_up_lines",
                                      help_text=_("the period the top-up was added to"),
                                      verbose_name=_("target period"))
    allowances = models.ManyToManyField(Allowance, blank=True, related_name="order_lines",
                                        help_text=_("the top-up buckets this line added"),
                                        verbose_name=_("allowances"))
    # Plan changes.
    when = models.CharField(max_length=10, choices=When.choices, blank=True,
                            verbose_name=_("when"))
    replaced_period = models.ForeignKey(Period, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="replaced_by",
                                        help_text=_("the period a plan change now ended"),
                                        verbose_name=_("replaced period"))
    credit = models.BigIntegerField(default=0,
                                    help_text=_("minor units credited for the unused "
                                                "part of the replaced period"),
                                    verbose_name=_("credit"))
    refund_amount = models.BigIntegerField(
        default=0,
        help_text=_("minor units paid back when the line was fulfilled (credit above "
                    "the new price, or a top-up that could not be applied)"),
        verbose_name=_("refunded amount"))
    # What the line cost at the supplier, as it stood when the order was fulfilled
    # (``orders.costs``): the margins read this, so a later change of the bundle's cost or
    # of an exchange rate leaves past margins as they were. Empty on lines fulfilled before
    # costs were kept and on lines no bundle priced; the margins then fall back to today's.
    cost = models.BigIntegerField(
        null=True, blank=True,
        help_text=_("what the supplier charged for the plan, minor units of cost currency"),
        verbose_name=_("supplier cost"))
    cost_currency = models.CharField(max_length=3, blank=True,
                                     verbose_name=_("supplier cost currency"))
    cost_rate = models.DecimalField(
        max_digits=20, decimal_places=10, null=True, blank=True,
        help_text=_("the exchange rate used: units of the order's currency per unit of the "
                    "cost currency (1 when they are the same)"),
        verbose_name=_("cost exchange rate"))
    cost_converted = models.BigIntegerField(
        null=True, blank=True,
        help_text=_("the supplier cost in the order's currency, minor units; empty when no "
                    "exchange rate converted it"),
        verbose_name=_("supplier cost in the order's currency"))
    # Renewals.
    low_data = models.BooleanField(
        default=False, db_default=False,
        help_text=_("renewal for low data: starts when the data of the plan "
                    "before it runs out, or when that plan ends if it lasts"),
        verbose_name=_("low data"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0) & Q(credit__gte=0)
                                   & Q(refund_amount__gte=0),
                                   name="order_line_amounts_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.get_type_display()} {self.plan.code}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.order.currency)

    @property
    def credit_money(self) -> Money:
        return Money(self.credit, self.order.currency)

    @property
    def refund_money(self) -> Money:
        return Money(self.refund_amount, self.order.currency)

    @property
    def value(self) -> int:
        """What the customer paid for what this line bought, in minor units: the charge plus
        the credit used (a credit above the price was paid back)."""
        return self.amount + self.credit - self.refund_amount

    @property
    def label(self) -> str:
        """What the line buys, in the active language (never stored, so it follows the
        reader); its kind words it."""
        return kinds.kind_for(self.type).label(self)

    @property
    def makes_esim(self) -> bool:
        """Fulfilling the line creates an eSIM (install links follow it)."""
        return kinds.kind_for(self.type).makes_esim

    @property
    def supplier_reference(self) -> str:
        """The reference for the current supplier: each supplier keeps its own books."""
        return self.upstream_reference if not self.supplier_index else \
            f"{self.upstream_reference}-s{self.supplier_index}"

    @property
    def upstream_reference(self) -> str:
        """The idempotent reference this line carries upstream."""
        return f"esimdesk-line-{self.pk}"


class Receipt(models.Model):
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="receipt",
                                 verbose_name=_("order"))
    number = models.CharField(max_length=30, unique=True, verbose_name=_("number"))
    issued_at = models.DateTimeField(default=clock.now, verbose_name=_("issued at"))

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")

    def __str__(self) -> str:
        return self.number
