"""Provisioning's own records: callbacks received from suppliers (each applied once), the
actions esimdesk asked of them, and where a supplier's usage total and esimdesk's disagree.
Each supplier's own records live in its package (``suppliers/<name>/models.py``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from esimdesk.core import clock


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
        verbose_name = _("supplier event received")
        verbose_name_plural = _("supplier events received")
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

    class Meta:
        verbose_name = _("supplier action")
        verbose_name_plural = _("supplier actions")

    def __str__(self) -> str:
        return f"{self.provider} {self.action} {self.iccid}"


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

    class Meta:
        verbose_name = _("usage drift")
        verbose_name_plural = _("usage drifts")

    def __str__(self) -> str:
        return f"{self.iccid}: ours {self.ours} vs {self.supplier} {self.theirs}"

    @property
    def difference(self) -> int:
        return self.theirs - self.ours


class SupplierCall(models.Model):
    """One call esimdesk made to a supplier (``provisioning.calls``, around every outbound
    method of the adapter ``registry.get`` hands out): which supplier, which operation, how
    it ended and how long it took. Read by the business figures (supplier health); kept
    ``ESIMDESK_SUPPLIER_CALLS_KEEP_DAYS`` days (the ``supplier_calls`` sweep)."""

    class Outcome(models.TextChoices):
        OK = "ok", pgettext_lazy("supplier call", "succeeded")
        # timeout, 5xx, rate limit, lost answer: tried again later
        RETRYABLE = "retryable", pgettext_lazy("supplier call", "failed for now (retryable)")
        REFUSED = "refused", pgettext_lazy("supplier call", "refused by the supplier")
        # the supplier does not offer it: not a failure
        NOT_SUPPORTED = "not_supported", pgettext_lazy("supplier call",
                                                       "not offered by the supplier")
        # anything else raised (a fault of ours or of the connection)
        ERROR = "error", pgettext_lazy("supplier call", "error (ours or the connection's)")

    class Operation(models.TextChoices):
        """The contract's methods that ask something of the supplier (``calls.OUTBOUND``),
        named for staff."""

        ORDER_PROFILE = "order_profile", pgettext_lazy("supplier call", "Order a profile")
        APPLY_PLAN = "apply_plan", pgettext_lazy("supplier call", "Add a plan")
        REPLACE_PLAN = "replace_plan", pgettext_lazy("supplier call", "Replace the plan")
        APPLY_TOP_UP = "apply_top_up", pgettext_lazy("supplier call", "Add a top-up")
        END_PLAN = "end_plan", pgettext_lazy("supplier call", "End the plan")
        SET_DEPLETION = "set_depletion", pgettext_lazy("supplier call",
                                                       "Slow down or stop data (used up)")
        LIFT_DEPLETION = "lift_depletion", pgettext_lazy("supplier call",
                                                         "Lift the slow-down or stop")
        SUSPEND = "suspend", pgettext_lazy("supplier call", "Suspend")
        RESUME = "resume", pgettext_lazy("supplier call", "Resume")
        REVOKE = "revoke", pgettext_lazy("supplier call", "Revoke")

    at = models.DateTimeField(default=clock.now, help_text=_("when the call started"),
                              verbose_name=_("at"))
    supplier = models.CharField(max_length=40, verbose_name=_("supplier"))
    operation = models.CharField(max_length=20, choices=Operation.choices,
                                 verbose_name=_("operation"))
    outcome = models.CharField(max_length=14, choices=Outcome.choices, verbose_name=_("outcome"))
    duration_ms = models.PositiveIntegerField(verbose_name=_("duration (ms)"))

    class Meta:
        verbose_name = _("supplier call")
        verbose_name_plural = _("supplier calls")
        indexes = [models.Index(fields=["at"], name="supplier_call_at")]
        # The console's *Test connection* on the supplier page (the admin role holds it).
        permissions = [("check_supplier", "Can test the connection to a supplier")]

    def __str__(self) -> str:
        return f"{self.supplier}.{self.operation} {self.outcome} {self.duration_ms} ms"


# Suppliers keep their own models in their packages; importing them here is what makes Django
# see them as this app's (the tables and migrations stay the provisioning app's).
from esimdesk.provisioning.suppliers.es2plus.models import (  # noqa: E402
    Es2Order,
    Es2PlanRecord,
    Es2ProgressNotification,
    Es2UnknownDownload,
)
from esimdesk.provisioning.suppliers.esimgo.models import EsimGoOrder  # noqa: E402

__all__ = ["Es2Order", "Es2PlanRecord", "Es2ProgressNotification", "Es2UnknownDownload",
           "EsimGoOrder"]
