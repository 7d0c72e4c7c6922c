"""Usage records as the network or the supplier reports them, charged to allowances."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Period


class UsageEvent(models.Model):
    """One usage record, stored once: keyed by (source, external id), so a replayed record
    is recognised and charges nothing. ``charged`` went into allowances of ``period``;
    ``overage`` is what the allowances could not cover (never a negative balance).

    The key is the primary key itself: a surrogate id would cost every stored record one
    more index entry and a sequence call, for rows that are never referenced by id."""

    class Kind(models.TextChoices):
        DATA = "data"
        VOICE = "voice"
        SMS = "sms"

    pk = models.CompositePrimaryKey("source", "external_id")
    source = models.CharField(max_length=64, help_text=_("API key name, supplier, CDR file"))
    external_id = models.CharField(max_length=128)
    # One index beside the key, (eSIM, occurred_at): charts, forecasts and reconciliation
    # read by eSIM and time (a period's events are its eSIM's within its window); each index
    # dropped is less work per stored record.
    # No per-row foreign-key check either (``db_constraint=False``): ingestion takes both ids
    # from rows it has just read, and the check cost ~10 µs per stored record, a fifth of
    # the database's work. The references hold all the same: esimdesk never deletes an eSIM
    # or a period, Django refuses to (PROTECT), and on PostgreSQL a deferred trigger refuses
    # any delete of one that events reference (migration 0003, docs/PERFORMANCE.md).
    esim = models.ForeignKey(Esim, on_delete=models.PROTECT, related_name="usage_events",
                             db_index=False, db_constraint=False)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="usage_events",
                               db_index=False, db_constraint=False)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    quantity = models.BigIntegerField(help_text=_("bytes, seconds or messages"))
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=clock.now)
    charged = models.BigIntegerField(default=0)
    overage = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0) & Q(charged__gte=0)
                                   & Q(overage__gte=0), name="usage_not_negative"),
        ]
        indexes = [models.Index(fields=["esim", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id} {self.kind} {self.quantity}"
