"""ES2+ records: orders and plans esimdesk keeps because ES2+ has no idempotency or plans of
its own, and the SM-DP+'s progress notifications as received."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock


class Es2Order(models.Model):
    """One ES2+ order per esimdesk reference. ES2+ itself has no idempotency, so the adapter
    remembers how far it got (``new`` -> ``ordered`` after downloadOrder -> ``confirmed``
    after confirmOrder) and a retry resumes instead of allocating a second profile."""

    class State(models.TextChoices):
        NEW = "new"
        ORDERED = "ordered"
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"
        RELEASED = "released"
        # Revoked after download: ES2+ cannot delete it, the network bars the ICCID.
        REVOKED = "revoked"

    reference = models.CharField(max_length=100, unique=True)
    # NULL until known: from the pool before downloadOrder, else from its answer.
    iccid = models.CharField(max_length=20, unique=True, null=True)  # noqa: DJ001
    upstream_iccid = models.CharField(max_length=20, blank=True,
                                      help_text="the ICCID as the SM-DP+ spells it (F pad)")
    plan_code = models.CharField(max_length=60, blank=True)
    profile_type = models.CharField(max_length=100, blank=True,
                                    help_text="the profileType downloadOrder asked for")
    eid = models.CharField(max_length=32, blank=True,
                           help_text="the device's EID when known before the order")
    download_call_id = models.CharField(max_length=64, blank=True,
                                        help_text="functionCallIdentifier of the "
                                                  "downloadOrder that allocated the ICCID")
    matching_id = models.CharField(max_length=255, blank=True)
    confirmation_code = models.CharField(max_length=32, blank=True)
    # Only what confirmOrder answered: an address esimdesk falls back on is worked out when
    # the result is read, so fixing ESIMDESK_ES2PLUS_SMDP_ADDRESS fixes a stored order too.
    smdp_address = models.CharField(max_length=253, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.NEW)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("ES2+ order")
        verbose_name_plural = _("ES2+ orders")

    def __str__(self) -> str:
        return f"{self.reference} {self.iccid} ({self.state})"


class Es2PlanRecord(models.Model):
    """Plans applied, replaced or ended on an ES2+ profile. ES2+ has no plan concept (the plan
    lives in the operator's network), so esimdesk's own record is the source of truth."""

    reference = models.CharField(max_length=100, unique=True)
    iccid = models.CharField(max_length=20)
    plan_code = models.CharField(max_length=60, blank=True)
    action = models.CharField(max_length=8, help_text="apply, replace or end")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("ES2+ plan record")
        verbose_name_plural = _("ES2+ plan records")

    def __str__(self) -> str:
        return f"{self.action} {self.plan_code} on {self.iccid}"


class Es2ProgressNotification(models.Model):
    """One handleDownloadProgressInfo call from the SM-DP+, as received (append only)."""

    iccid = models.CharField(max_length=20)
    esim = models.ForeignKey("esims.Esim", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="es2_notifications")
    eid = models.CharField(max_length=32, blank=True)
    profile_type = models.CharField(max_length=100, blank=True)
    function_call_identifier = models.CharField(max_length=255, blank=True)
    point_id = models.IntegerField()
    status = models.CharField(max_length=30)
    status_code_data = models.JSONField(default=dict, blank=True)
    result_data = models.TextField(blank=True)
    occurred_at = models.DateTimeField(help_text="the SM-DP+'s timestamp")
    outcome = models.CharField(max_length=20, blank=True,
                               help_text="installed, recorded, failure or unknown_iccid")
    received_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("ES2+ progress notification")
        verbose_name_plural = _("ES2+ progress notifications")
        indexes = [models.Index(fields=["iccid", "received_at"])]

    def __str__(self) -> str:
        return f"{self.iccid} point {self.point_id} {self.status}"


class Es2UnknownDownload(models.Model):
    """A ``downloadOrder`` whose outcome is unknown (timed out, connection lost after
    sending, a garbled answer): the SM-DP+ may have allocated a profile esimdesk never
    heard of. Without an ICCID pool the order's retry asks for another profile, so staff
    reconcile these with the SM-DP+ (find the call by its ``functionCallIdentifier`` and
    ``cancelOrder`` what it allocated) and mark them reconciled."""

    reference = models.CharField(max_length=100, db_index=True, verbose_name=_("reference"))
    function_call_identifier = models.CharField(max_length=64, unique=True,
                                                verbose_name=_("function call identifier"))
    profile_type = models.CharField(max_length=100, blank=True, verbose_name=_("profile type"))
    eid = models.CharField(max_length=32, blank=True, verbose_name=_("EID"))
    error_code = models.CharField(max_length=40, verbose_name=_("error code"))
    detail = models.CharField(max_length=300, blank=True, verbose_name=_("detail"))
    called_at = models.DateTimeField(default=clock.now, verbose_name=_("called at"))
    # The ICCID the order got in the end: a profile allocated by this call is another one.
    order_iccid = models.CharField(max_length=20, blank=True,
                                   verbose_name=_("ICCID the order got"))
    reconciled_at = models.DateTimeField(null=True, blank=True,
                                         verbose_name=_("reconciled at"))
    reconciled_by = models.CharField(max_length=150, blank=True,
                                     verbose_name=_("reconciled by"))

    class Meta:
        verbose_name = _("ES2+ possibly allocated profile")
        verbose_name_plural = _("ES2+ possibly allocated profiles")
        indexes = [models.Index(fields=["reconciled_at", "called_at"],
                                name="es2_unknown_download_open")]

    def __str__(self) -> str:
        return f"{self.reference} {self.function_call_identifier}"
