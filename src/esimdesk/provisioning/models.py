"""State of the upstream simulator: the profiles and plan applications it has handed out.

The simulator keeps its own books the way a supplier would, so idempotent references,
reconciliation and failure handling are exercised against real rows, not mocks."""

from __future__ import annotations

from django.db import models

from esimdesk.core import clock


class SimulatedProfile(models.Model):
    reference = models.CharField(max_length=100, unique=True)
    # NULL only between insert and numbering from the row id (several may be in flight).
    iccid = models.CharField(max_length=20, unique=True, null=True)  # noqa: DJ001
    matching_id = models.CharField(max_length=64)
    plan_code = models.CharField(max_length=60)
    status = models.CharField(max_length=20, default="released")
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.iccid} ({self.status})"


class SimulatedPlanApplication(models.Model):
    reference = models.CharField(max_length=100, unique=True)
    profile = models.ForeignKey(SimulatedProfile, on_delete=models.CASCADE,
                                related_name="applications")
    plan_code = models.CharField(max_length=60)
    starts = models.CharField(max_length=8, default="queued",
                              help_text="queued (after the running plan) or now (plan change)")
    created_at = models.DateTimeField(default=clock.now)


class SimulatedTopUp(models.Model):
    """A top-up the simulator applied: one per esimdesk reference, however often asked."""

    reference = models.CharField(max_length=100, unique=True)
    profile = models.ForeignKey(SimulatedProfile, on_delete=models.CASCADE,
                                related_name="top_ups")
    product_code = models.CharField(max_length=60)
    data_bytes = models.BigIntegerField(default=0)
    voice_seconds = models.BigIntegerField(default=0)
    sms_count = models.BigIntegerField(default=0)
    extend_days = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)


class SimulatedUsage(models.Model):
    """Usage the simulator metered and reported to esimdesk: the supplier's own books, which
    reconciliation compares with what esimdesk charged. One row per record id
    (``sim-<iccid>-<hour>``), so generating the same hour again adds nothing."""

    record_id = models.CharField(max_length=128, unique=True)
    iccid = models.CharField(max_length=20)
    kind = models.CharField(max_length=5, default="data")
    quantity = models.BigIntegerField(help_text="bytes, seconds or messages")
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["iccid", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.record_id} {self.quantity}"


class UsageDrift(models.Model):
    """A reconciliation finding staff should look at: for a running period, the data esimdesk
    recorded differs from the supplier's total by more than the tolerance. One row per
    period, refreshed by every run; ``resolved_at`` is set when the two agree again."""

    period = models.OneToOneField("subscriptions.Period", on_delete=models.CASCADE,
                                  related_name="usage_drift")
    iccid = models.CharField(max_length=20)
    supplier = models.CharField(max_length=40)
    ours = models.BigIntegerField(help_text="bytes esimdesk recorded for the period")
    theirs = models.BigIntegerField(help_text="bytes the supplier reports for the period")
    detected_at = models.DateTimeField(default=clock.now)
    checked_at = models.DateTimeField(default=clock.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.iccid}: ours {self.ours} vs {self.supplier} {self.theirs}"

    @property
    def difference(self) -> int:
        return self.theirs - self.ours
