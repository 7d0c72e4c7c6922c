"""Family and enterprise accounts: the party only (the group, its members, invitations and
cost centres). What a group buys and shares (plan terms and tiers, group lines, the pool's
accounting, invoices) lives in ``sharedplans``, above orders (see docs/groups.md).

Models of higher apps (eSIMs) are referenced by name only, so this module imports nothing
above ``catalog``."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock


class Group(models.Model):
    class Kind(models.TextChoices):
        FAMILY = "family", _("Family")
        ENTERPRISE = "enterprise", _("Organisation")

    class Billing(models.TextChoices):
        PAYMENT = "payment", _("Card or wallet")
        INVOICE = "invoice", _("Monthly invoice")

    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name=_("kind"))
    name = models.CharField(max_length=150, verbose_name=_("name"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_groups", verbose_name=_("owner"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    seats = models.PositiveSmallIntegerField(
        default=0, help_text=_("members paid for in the current period (owner included)"),
        verbose_name=_("seats"))
    # Organisations.
    company_name = models.CharField(max_length=200, blank=True, verbose_name=_("company name"))
    tax_id = models.CharField(max_length=40, blank=True, verbose_name=_("tax ID"))
    billing = models.CharField(max_length=8, choices=Billing.choices, default=Billing.PAYMENT,
                               verbose_name=_("billing"))
    allowed_countries = models.JSONField(
        default=list, blank=True,
        help_text=_("policy: ISO country codes members may use the pool in (empty: any)"),
        verbose_name=_("allowed countries"))
    default_cap_percent = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text=_("policy: cap given to new members, in percent of the pool"),
        verbose_name=_("default cap (%)"))

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        constraints = [
            models.CheckConstraint(condition=Q(default_cap_percent__isnull=True)
                                   | Q(default_cap_percent__lte=100),
                                   name="group_default_cap_percent_max"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def display_name(self) -> str:
        """How messages about the group's plan name it (as an eSIM's ``display_name``)."""
        return self.name


class CostCentre(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="cost_centres",
                              verbose_name=_("group"))
    code = models.CharField(max_length=40, verbose_name=_("code"))
    name = models.CharField(max_length=150, blank=True, verbose_name=_("name"))

    class Meta:
        verbose_name = _("cost centre")
        verbose_name_plural = _("cost centres")
        ordering = ["group", "code"]
        constraints = [models.UniqueConstraint(fields=["group", "code"],
                                               name="uniq_cost_centre")]

    def __str__(self) -> str:
        return self.code


class ActiveMemberships(models.Manager["Membership"]):
    def get_queryset(self) -> models.QuerySet[Membership]:
        return super().get_queryset().filter(left_at__isnull=True)


class Membership(models.Model):
    """One person in a group. Rows are never deleted: leaving sets ``left_at``, so usage
    charged while they were in stays attributed to them (``MemberUsage``)."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships",
                              verbose_name=_("group"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships", verbose_name=_("user"))
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER,
                            verbose_name=_("role"))
    data_cap_bytes = models.BigIntegerField(null=True, blank=True,
                                            help_text=_("per-member cap on the shared pool"),
                                            verbose_name=_("data cap bytes"))
    data_cap_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("per-member cap as a share of the pool, percent"),
        verbose_name=_("data cap percent"))
    esim = models.ForeignKey("esims.Esim", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="group_memberships",
                             help_text=_("the eSIM that draws on the pool"), verbose_name=_("eSIM"))
    cost_centre = models.ForeignKey(CostCentre, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="memberships",
                                    verbose_name=_("cost centre"))
    employee_ref = models.CharField(max_length=60, blank=True, verbose_name=_("employee reference"))
    joined_at = models.DateTimeField(default=clock.now, verbose_name=_("joined at"))
    left_at = models.DateTimeField(null=True, blank=True, verbose_name=_("left at"))

    objects = models.Manager()
    active = ActiveMemberships()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], condition=Q(left_at__isnull=True),
                                    name="uniq_member"),
            models.UniqueConstraint(fields=["esim"], condition=Q(left_at__isnull=True)
                                    & Q(esim__isnull=False), name="uniq_member_esim"),
            models.CheckConstraint(condition=Q(data_cap_bytes__isnull=True)
                                   | Q(data_cap_bytes__gte=0), name="member_cap_not_negative"),
            models.CheckConstraint(condition=Q(data_cap_percent__isnull=True)
                                   | Q(data_cap_percent__lte=100),
                                   name="member_cap_percent_max"),
        ]

    def __str__(self) -> str:
        return _("%(user)s in %(group)s") % {"user": self.user, "group": self.group}

    @property
    def is_manager(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)

    def cap_for(self, pool_total: int) -> int | None:
        """The member's data cap in bytes for a pool of ``pool_total`` bytes (the smaller of
        the absolute cap and the share, when both are set); None: no cap."""
        caps = []
        if self.data_cap_bytes is not None:
            caps.append(self.data_cap_bytes)
        if self.data_cap_percent is not None:
            caps.append(pool_total * self.data_cap_percent // 100)
        return min(caps) if caps else None


def new_invitation_token() -> str:
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Withdrawn")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="invitations",
                              verbose_name=_("group"))
    email = models.EmailField(blank=True, verbose_name=_("e-mail address"))
    phone = models.CharField(max_length=20, blank=True, verbose_name=_("phone"))
    language = models.CharField(
        max_length=10, default="en", verbose_name=_("language"),
        help_text=_("language of the message when the invitee has no account"))
    role = models.CharField(max_length=10, choices=Membership.Role.choices,
                            default=Membership.Role.MEMBER, verbose_name=_("role"))
    cost_centre = models.ForeignKey(CostCentre, null=True, blank=True,
                                    on_delete=models.SET_NULL, verbose_name=_("cost centre"))
    token = models.CharField(max_length=64, unique=True, default=new_invitation_token,
                             verbose_name=_("token"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING,
                             verbose_name=_("state"))
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("invited by"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("accepted by"))
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("accepted at"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(email="") | ~Q(phone=""),
                                              name="invitation_has_address")]

    def __str__(self) -> str:
        return _("invitation to %(address)s (%(state)s)") % {
            "address": self.email or self.phone, "state": self.get_state_display()}

    @property
    def address(self) -> str:
        return self.email or self.phone

    def is_open(self, instant: object) -> bool:
        return self.state == self.State.PENDING and instant < self.expires_at  # type: ignore[operator]
