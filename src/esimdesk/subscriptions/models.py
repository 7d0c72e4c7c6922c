from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.core.states import StateMachine
from esimdesk.core.units import UNITS
from esimdesk.esims.models import Esim
from esimdesk.groups.models import Group


class Subscription(models.Model):
    """The plan service of one eSIM, or of a group whose members' eSIMs share its pool."""

    esim = models.OneToOneField(Esim, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="subscription", verbose_name=_("eSIM"))
    group = models.OneToOneField(Group, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="subscription", verbose_name=_("group"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT,
                             help_text=_("plan of the latest period"),
                             verbose_name=_("plan"))
    auto_renew = models.BooleanField(default=False, verbose_name=_("automatic renewal"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=(Q(esim__isnull=False, group__isnull=True)
                           | Q(esim__isnull=True, group__isnull=False)),
                name="subscription_of_esim_xor_group"),
        ]

    def __str__(self) -> str:
        return _("subscription %(number)s (%(holder)s)") % {"number": self.pk,
                                                         "holder": self.esim or self.group}


class Period(models.Model):
    """A validity window ``[starts_at, ends_at)`` with its allowances.

    Periods of one subscription never overlap: a renewal starts where the last one ends (or
    now, if that is later). ``sequence`` numbers them 1, 2, 3… per subscription.

    A new eSIM's first period of a plan whose validity starts at first use (or install) is
    **pending** until then: no ``starts_at`` or ``ends_at`` yet, an ``activate_by`` deadline
    and its full allowances (``subscriptions.validity`` starts it). Periods queued behind a
    pending one are ``scheduled`` without times either, and get them when it starts.
    ``extra_days`` are days top-ups added while it had no end yet.

    A queued period ``starts_on_data_out`` (a renewal bought because data ran low) starts
    the moment the data of the period before it runs out, which then ends at that instant;
    if the data lasts, it starts when that period ends, as any queued period
    (``subscriptions.data_out``).
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Not started")
        SCHEDULED = "scheduled", _("Queued")
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")
        CANCELLED = "cancelled", _("Cancelled")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE,
                                     related_name="periods", verbose_name=_("subscription"))
    sequence = models.PositiveIntegerField(verbose_name=_("number"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, verbose_name=_("plan"))
    starts_at = models.DateTimeField(null=True, blank=True, verbose_name=_("starts at"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ends at"))
    state = models.CharField(max_length=10, choices=State.choices, verbose_name=_("state"))
    activate_by = models.DateTimeField(
        null=True, blank=True, help_text=_("a pending period starts by itself at this time"),
        verbose_name=_("activate by"))
    extra_days = models.PositiveIntegerField(
        default=0, help_text=_("days added by top-ups before the period had an end"),
        verbose_name=_("extra days"))
    starts_on_data_out = models.BooleanField(
        default=False, db_default=False,
        help_text=_("starts when the data of the period before it runs out "
                    "(that period then ends), or at its end if the data lasts"),
        verbose_name=_("starts on data out"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["subscription", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "sequence"], name="uniq_period_seq"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                   name="period_not_empty"),
            # Both times or neither (pending, or queued behind a pending period).
            models.CheckConstraint(condition=Q(starts_at__isnull=True, ends_at__isnull=True)
                                   | Q(starts_at__isnull=False, ends_at__isnull=False),
                                   name="period_times_together"),
            models.CheckConstraint(condition=~Q(state="pending") | Q(starts_at__isnull=True),
                                   name="pending_has_no_start"),
        ]
        indexes = [models.Index(fields=["state", "ends_at"]),
                   models.Index(fields=["ends_at"]),
                   models.Index(fields=["subscription", "starts_at"])]

    def __str__(self) -> str:
        return _("period %(sequence)s of subscription %(subscription)s") % {
            "sequence": self.sequence, "subscription": self.subscription_id}

    def contains(self, instant: object) -> bool:
        if self.starts_at is None or self.ends_at is None:
            return False
        return self.starts_at <= instant < self.ends_at  # type: ignore[operator]

    @property
    def has_started(self) -> bool:
        return self.starts_at is not None

    @property
    def validity_iso(self) -> str:
        """The period's length as an ISO 8601 duration (the plan's, plus days top-ups
        added while it was pending)."""
        plan = self.plan
        if not self.extra_days:
            return plan.validity_iso
        if plan.validity_unit == plan.Unit.DAY:
            return f"P{plan.validity_count + self.extra_days}D"
        return f"{plan.validity_iso}{self.extra_days}D"  # e.g. P1M7D

    def end_from(self, starts_at: dt.datetime) -> dt.datetime:
        """Where the period ends if it starts at ``starts_at``."""
        return self.plan.ends_at(starts_at) + dt.timedelta(days=self.extra_days)


PERIOD_STATES = StateMachine("period", {
    Period.State.PENDING: {Period.State.ACTIVE, Period.State.ENDED, Period.State.CANCELLED},
    Period.State.SCHEDULED: {Period.State.ACTIVE, Period.State.ENDED, Period.State.CANCELLED,
                             Period.State.PENDING},
    Period.State.ACTIVE: {Period.State.ENDED, Period.State.CANCELLED},
    Period.State.ENDED: set(),
    Period.State.CANCELLED: set(),
})


class Allowance(models.Model):
    """One bucket of a period: data (bytes), voice (seconds) or SMS (messages).

    ``used`` never exceeds ``total``; what goes beyond is ``overage``. Remaining is
    ``total - used``, so it is never negative.
    """

    class Kind(models.TextChoices):
        DATA = "data", _("Data")
        VOICE = "voice", _("Calls")
        SMS = "sms", _("SMS")

    class Source(models.TextChoices):
        PLAN = "plan", _("Plan")
        TOP_UP = "top_up", _("Top-up")

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="allowances",
                               verbose_name=_("period"))
    kind = models.CharField(max_length=5, choices=Kind.choices, verbose_name=_("kind"))
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PLAN,
                              verbose_name=_("source"))
    total = models.BigIntegerField(verbose_name=_("total"))
    used = models.BigIntegerField(default=0, verbose_name=_("used"))
    overage = models.BigIntegerField(default=0, verbose_name=_("overage"))

    class Meta:
        verbose_name = _("allowance")
        verbose_name_plural = _("allowances")
        ordering = ["period", "kind", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0) & Q(used__gte=0) & Q(overage__gte=0)
                                   & Q(used__lte=models.F("total")),
                                   name="allowance_within_bounds"),
            # One plan bucket per kind: usage ingestion charges "the plan's bucket" of a
            # (period, kind) by this index, in one probe.
            models.UniqueConstraint(fields=["period", "kind"], condition=Q(source="plan"),
                                    name="one_plan_bucket_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.used}/{self.total}"

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.used)

    @property
    def unit(self) -> str:
        return UNITS[self.kind]


class ReminderLog(models.Model):
    """One reminder about one period, recorded before it is sent: unique on (period, kind),
    so a sweep that runs twice, or on two machines, reminds once."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="reminders",
                               verbose_name=_("period"))
    kind = models.CharField(max_length=40, help_text=_("e.g. expiry:3d, low_data:90"),
                            verbose_name=_("kind"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [models.UniqueConstraint(fields=["period", "kind"], name="uniq_reminder")]
        indexes = [models.Index(fields=["sent_at"])]

    def __str__(self) -> str:
        return _("%(kind)s for period %(period)s") % {"kind": self.get_kind_display(),
                                                     "period": self.period_id}
