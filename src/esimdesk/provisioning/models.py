"""State of the upstream simulator: the profiles and plan applications it has handed out.

The simulator keeps its own books the way a supplier would, so idempotent references,
reconciliation and failure handling are exercised against real rows, not mocks."""

from __future__ import annotations

from django.db import models

from esimdesk.core import clock


class SimulatedProfile(models.Model):
    """One profile the simulator issued. Two independent states, as at a real supplier:
    ``status`` is the service on the network (``released``, ``plan_ended``, ``throttled``,
    ``stopped``, ``revoked``; plus the ``suspended`` bar), ``state`` the profile's life on
    the device (``released`` -> ``downloaded`` -> ``installed`` -> ``enabled`` <->
    ``disabled``; ``deleted``; ``cancelled`` when revoked before download). ``revoked_at``
    is final."""

    class State(models.TextChoices):
        RELEASED = "released"
        DOWNLOADED = "downloaded"
        INSTALLED = "installed"
        ENABLED = "enabled"
        DISABLED = "disabled"
        DELETED = "deleted"
        CANCELLED = "cancelled"

    reference = models.CharField(max_length=100, unique=True)
    # NULL only between insert and numbering from the row id (several may be in flight).
    iccid = models.CharField(max_length=20, unique=True, null=True)  # noqa: DJ001
    matching_id = models.CharField(max_length=64)
    plan_code = models.CharField(max_length=60)
    status = models.CharField(max_length=20, default="released")
    state = models.CharField(max_length=12, choices=State.choices, default=State.RELEASED)
    suspended = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.iccid} ({self.state}, {self.status})"


class SimulatedAction(models.Model):
    """A suspend, resume or revoke the simulator carried out: one per esimdesk reference."""

    reference = models.CharField(max_length=100, unique=True)
    profile = models.ForeignKey(SimulatedProfile, on_delete=models.CASCADE,
                                related_name="actions")
    action = models.CharField(max_length=8, help_text="suspend, resume or revoke")
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.action} {self.profile.iccid} ({self.reference})"


class SimulatedCallback(models.Model):
    """One signed callback the simulator sends to esimdesk (status events or usage), kept
    with the exact body it signed, and delivered by a task until esimdesk accepts it."""

    class Kind(models.TextChoices):
        STATUS = "status"
        USAGE = "usage"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    body = models.TextField(help_text="the JSON body, exactly as signed")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_answer = models.JSONField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} callback {self.pk}"


class SimulatedProfileEvent(models.Model):
    """A profile status event the simulator emitted (unique id), and the callback that
    carries it to esimdesk."""

    event_id = models.CharField(max_length=64, unique=True)
    profile = models.ForeignKey(SimulatedProfile, on_delete=models.CASCADE,
                                related_name="events")
    status = models.CharField(max_length=12)
    previous = models.CharField(max_length=12, blank=True)
    origin = models.CharField(max_length=10, help_text="staff, auto or simulator")
    callback = models.ForeignKey(SimulatedCallback, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="events")
    occurred_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} {self.status}"


class UpstreamEventReceipt(models.Model):
    """An upstream profile event esimdesk received, stored first under ``(provider,
    event_id)``: a redelivery hits the unique key and changes nothing."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=128)
    iccid = models.CharField(max_length=20)
    status = models.CharField(max_length=12)
    outcome = models.CharField(max_length=20, help_text="what it did to the eSIM")
    received_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"],
                                               name="upstream_event_once")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} {self.status} -> {self.outcome}"


class SupplierAction(models.Model):
    """Suspend, resume and revoke sent to a real supplier (ES2+, eSIM Go), one row per
    esimdesk reference: written before the call, ``done_at`` once it succeeded, so a retry
    after success does not call again and a reused reference is caught."""

    provider = models.CharField(max_length=40)
    reference = models.CharField(max_length=100, unique=True)
    action = models.CharField(max_length=8)
    iccid = models.CharField(max_length=20)
    outcome = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    done_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.provider} {self.action} {self.iccid}"


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


# Suppliers keep their own models in their packages; importing them here is what makes Django
# see them as this app's (the tables and migrations stay the provisioning app's).
from esimdesk.provisioning.suppliers.es2plus.models import (  # noqa: E402
    Es2Order,
    Es2PlanRecord,
    Es2ProgressNotification,
)
from esimdesk.provisioning.suppliers.esimgo.models import EsimGoOrder  # noqa: E402

__all__ = ["Es2Order", "Es2PlanRecord", "Es2ProgressNotification", "EsimGoOrder"]
