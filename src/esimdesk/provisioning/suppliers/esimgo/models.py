"""eSIM Go's own records: what esimdesk asked it for, by esimdesk's reference."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock


class EsimGoOrder(models.Model):
    """One esimdesk request to eSIM Go (a new profile or a bundle applied to an ICCID), keyed
    by esimdesk's reference. eSIM Go takes no client reference on ``POST /orders``, so this
    row is written *before* the order is sent: a retry after a timeout finds it and recovers
    the order eSIM Go already created instead of buying a second one."""

    reference = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, help_text="profile (new eSIM) or plan (apply)")
    plan_code = models.CharField(max_length=60)
    bundle = models.CharField(max_length=100)
    target_iccid = models.CharField(max_length=20, blank=True,
                                    help_text="the eSIM a plan is applied to")
    order_reference = models.CharField(max_length=100, blank=True,
                                       help_text="eSIM Go's orderReference, once known")
    iccid = models.CharField(max_length=20, blank=True)
    smdp_address = models.CharField(max_length=253, blank=True)
    matching_id = models.CharField(max_length=255, blank=True)
    # eSIM Go's wall clock, not esimdesk's (tests move that one): bounds the order search.
    requested_at = models.DateTimeField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("eSIM Go order")
        verbose_name_plural = _("eSIM Go orders")

    def __str__(self) -> str:
        return f"{self.reference} -> {self.order_reference or 'pending'}"
