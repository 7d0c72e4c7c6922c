"""Family and organisation plans: what makes a plan a group plan (terms and per-member
price tiers), what an order line bought for a group, the pool's accounting per member, and
the monthly invoices of organisations billed on account.

The tables keep the names they had when these models lived in ``groups`` and ``orders``
(``db_table``): the move changed no data.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.groups.models import Group, Membership


class GroupPlanTerms(models.Model):
    """What makes a family or enterprise ``Plan`` a group plan. The plan's allowances and
    price are per member: a group with N seats gets N times the allowances in its pool and
    pays N times the price, less the discount of the largest tier N reaches."""

    plan = models.OneToOneField(Plan, on_delete=models.CASCADE, related_name="group_terms",
                                verbose_name=_("plan"))
    max_members = models.PositiveSmallIntegerField(default=5, verbose_name=_("max members"))
    min_members = models.PositiveSmallIntegerField(default=2, verbose_name=_("min members"))
    intra_group_voice_percent_off = models.PositiveSmallIntegerField(
        default=0, help_text=_("discount on calls between members, in percent (0: none)"),
        verbose_name=_("intra group voice percent off"))
    cap_action = models.CharField(
        max_length=10, choices=Plan.Depletion.choices, default=Plan.Depletion.THROTTLE,
        help_text=_("what happens to a member's eSIM that reaches its cap"),
        verbose_name=_("cap action"))

    class Meta:
        verbose_name = _("group plan terms")
        verbose_name_plural = _("group plan terms")
        db_table = "groups_groupplanterms"
        constraints = [
            models.CheckConstraint(condition=Q(min_members__gte=1)
                                   & Q(max_members__gte=models.F("min_members"))
                                   & Q(intra_group_voice_percent_off__lte=100),
                                   name="group_terms_sane"),
        ]

    def __str__(self) -> str:
        return _("terms of %(plan)s") % {"plan": self.plan_id}


class MemberPriceTier(models.Model):
    """From ``min_members`` seats on, every seat costs ``percent_off`` % less."""

    terms = models.ForeignKey(GroupPlanTerms, on_delete=models.CASCADE, related_name="tiers",
                              verbose_name=_("terms"))
    min_members = models.PositiveSmallIntegerField(verbose_name=_("min members"))
    percent_off = models.PositiveSmallIntegerField(verbose_name=_("percent off"))

    class Meta:
        verbose_name = _("member price tier")
        verbose_name_plural = _("member price tiers")
        db_table = "groups_memberpricetier"
        ordering = ["terms", "min_members"]
        constraints = [
            models.UniqueConstraint(fields=["terms", "min_members"], name="uniq_price_tier"),
            models.CheckConstraint(condition=Q(percent_off__lte=100), name="tier_percent_max"),
        ]

    def __str__(self) -> str:
        return f"{self.min_members}+: -{self.percent_off}%"


class MemberUsage(models.Model):
    """What one member drew from the pool in one period, per kind: ``used`` came out of the
    pool's allowances, ``overage`` is what neither the pool nor the member's cap covered.
    For every pool period and kind, the members' ``used`` add up to the allowances' ``used``
    and their ``overage`` to the allowances' ``overage`` (``sharedplans.pools``)."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="usage",
                                   verbose_name=_("membership"))
    period = models.ForeignKey("subscriptions.Period", on_delete=models.CASCADE,
                               related_name="member_usage", verbose_name=_("period"))
    kind = models.CharField(max_length=5, verbose_name=_("kind"))
    used = models.BigIntegerField(default=0, verbose_name=_("used"))
    overage = models.BigIntegerField(default=0, verbose_name=_("overage"))
    capped_at = models.DateTimeField(null=True, blank=True,
                                     help_text=_("when the member reached their cap"),
                                     verbose_name=_("capped at"))

    class Meta:
        verbose_name = _("member usage record")
        verbose_name_plural = _("member usage records")
        db_table = "groups_memberusage"
        constraints = [
            models.UniqueConstraint(fields=["membership", "period", "kind"],
                                    name="uniq_member_usage"),
            models.CheckConstraint(condition=Q(used__gte=0) & Q(overage__gte=0),
                                   name="member_usage_not_negative"),
        ]
        indexes = [models.Index(fields=["period", "kind"])]

    def __str__(self) -> str:
        return _("%(kind)s %(used)s of member %(member)s") % {
            "kind": self.get_kind_display(), "used": self.used, "member": self.membership_id}


class GroupLine(models.Model):
    """What an order line bought for a group (the order line itself lives in ``orders``):
    which group, for how many members, at what per-member price and discount."""

    line = models.OneToOneField("orders.OrderLine", on_delete=models.CASCADE,
                                related_name="group_line", verbose_name=_("line"))
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="order_lines",
                              verbose_name=_("group"))
    members = models.PositiveSmallIntegerField(verbose_name=_("members"))
    unit_amount = models.BigIntegerField(help_text=_("list price per member, minor units"),
                                         verbose_name=_("unit amount"))
    percent_off = models.PositiveSmallIntegerField(default=0, verbose_name=_("percent off"))

    class Meta:
        verbose_name = _("group order line")
        verbose_name_plural = _("group order lines")
        db_table = "groups_groupline"

    def __str__(self) -> str:
        return _("%(members)s members of group %(group)s") % {"members": self.members,
                                                             "group": self.group_id}


class MonthlyInvoice(models.Model):
    """What an organisation billed by monthly invoice owes for one calendar month (UTC): its
    group orders placed on account that month, in one currency. Issued once, after the
    month ends, by the ``invoices`` sweep; finance marks it paid when the transfer arrives."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        PAID = "paid", _("Paid")

    group = models.ForeignKey("groups.Group", on_delete=models.PROTECT, related_name="invoices",
                              verbose_name=_("group"))
    month = models.DateField(help_text=_("first day of the month billed"),
                             verbose_name=_("month"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    number = models.CharField(max_length=30, unique=True, verbose_name=_("number"))
    total = models.BigIntegerField(help_text=_("minor units"),
                                   verbose_name=_("total"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED,
                              verbose_name=_("status"))
    issued_at = models.DateTimeField(default=clock.now, verbose_name=_("issued at"))
    due_at = models.DateTimeField(verbose_name=_("due at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    paid_reference = models.CharField(max_length=100, blank=True,
                                      verbose_name=_("payment reference"))

    class Meta:
        verbose_name = _("monthly invoice")
        verbose_name_plural = _("monthly invoices")
        db_table = "orders_monthlyinvoice"
        ordering = ["-month", "group_id"]
        constraints = [models.UniqueConstraint(fields=["group", "month", "currency"],
                                               name="one_invoice_per_group_month_currency"),
                       models.CheckConstraint(condition=Q(total__gte=0),
                                              name="invoice_total_not_negative")]

    def __str__(self) -> str:
        return self.number

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)
