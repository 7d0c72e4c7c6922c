"""Family and enterprise accounts. A group's subscription holds one shared pool per
allowance kind; members' eSIMs draw on it (with optional per-member caps)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock


class Group(models.Model):
    class Kind(models.TextChoices):
        FAMILY = "family", _("Family")
        ENTERPRISE = "enterprise", _("Organisation")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=150)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_groups")
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    data_cap_bytes = models.BigIntegerField(null=True, blank=True,
                                            help_text="per-member cap on the shared pool")
    joined_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="uniq_member")]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"
