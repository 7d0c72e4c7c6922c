from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock
from esimdesk.core.ids import ActivationCode
from esimdesk.core.states import StateMachine


class Esim(models.Model):
    """One eSIM profile. ``status`` is the profile's life on the device; whether it has a
    valid plan right now is the subscription's business (see ``subscriptions``)."""

    class Status(models.TextChoices):
        READY = "ready", _("Ready to install")
        INSTALLED = "installed", _("Installed")
        IN_USE = "in_use", _("In use")
        SUSPENDED = "suspended", _("Suspended")
        REVOKED = "revoked", _("Revoked")

    iccid = models.CharField(max_length=20, unique=True, verbose_name=_("ICCID"))
    eid = models.CharField(max_length=32, blank=True, verbose_name=_("EID"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="esims", verbose_name=_("owner"))
    label = models.CharField(_("label"), max_length=60, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.READY,
                              verbose_name=_("status"))
    smdp_address = models.CharField(max_length=253, verbose_name=_("SM-DP+ address"))
    matching_id = models.CharField(max_length=255, verbose_name=_("matching ID"))
    confirmation_code = models.CharField(max_length=32, blank=True,
                                         verbose_name=_("confirmation code"))
    upstream = models.CharField(max_length=40, help_text=_("supplier that issued the profile"),
                                verbose_name=_("supplier"))
    upstream_reference = models.CharField(max_length=100, blank=True,
                                          verbose_name=_("supplier reference"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    installed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("installed at"))

    class Meta:
        verbose_name = _("eSIM")
        verbose_name_plural = _("eSIMs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.iccid

    @property
    def activation(self) -> ActivationCode:
        return ActivationCode(self.smdp_address, self.matching_id,
                              confirmation_code_required=bool(self.confirmation_code))

    @property
    def display_name(self) -> str:
        return self.label or f"eSIM …{self.iccid[-6:]}"


ESIM_STATES = StateMachine("esim", {
    Esim.Status.READY: {Esim.Status.INSTALLED, Esim.Status.IN_USE, Esim.Status.REVOKED},
    Esim.Status.INSTALLED: {Esim.Status.IN_USE, Esim.Status.SUSPENDED, Esim.Status.REVOKED},
    Esim.Status.IN_USE: {Esim.Status.SUSPENDED, Esim.Status.REVOKED},
    Esim.Status.SUSPENDED: {Esim.Status.IN_USE, Esim.Status.REVOKED},
    Esim.Status.REVOKED: set(),
})


class Reissue(models.Model):
    """Staff replaced a profile that would not install with a new one from the same supplier.

    The subscription (and so every period and the data left) moves to the new eSIM; the old
    profile is revoked upstream. ``reference`` is the idempotent reference sent upstream, so a
    retried task never orders two replacement profiles."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Preparing the new eSIM")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    old_esim = models.ForeignKey(Esim, on_delete=models.PROTECT, related_name="reissues",
                                 verbose_name=_("old eSIM"))
    new_esim = models.OneToOneField(Esim, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reissued_from", verbose_name=_("new eSIM"))
    reference = models.CharField(max_length=100, unique=True, verbose_name=_("reference"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING,
                              verbose_name=_("status"))
    reason = models.CharField(max_length=500, verbose_name=_("reason"))
    requested_by = models.CharField(max_length=150, verbose_name=_("requested by"))
    failure = models.CharField(max_length=500, blank=True, verbose_name=_("failure"))
    revoked_upstream_at = models.DateTimeField(null=True, blank=True,
                                               verbose_name=_("revoked upstream at"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        verbose_name = _("reissue")
        verbose_name_plural = _("reissues")
        ordering = ["-created_at", "-id"]
        permissions = [("reissue_esim", "Can reissue an eSIM profile")]
        constraints = [models.UniqueConstraint(
            fields=["old_esim"], condition=models.Q(status="pending"),
            name="one_pending_reissue_per_esim")]

    def __str__(self) -> str:
        return _("reissue of %(esim)s (%(status)s)") % {"esim": self.old_esim,
                                                       "status": self.get_status_display()}


class UpstreamRevoke(models.Model):
    """The profile of an eSIM revoked in esimdesk, cancelled at its supplier too.

    One row per eSIM, made in the transaction that revoked it locally, so the supplier call
    (a task queued in that same transaction) is never lost and never made under two
    references. ``status`` is what the supplier really said; a refusal or a failure stays
    ``needs_action`` (an alert on the console) until staff retry it or settle it another way
    (``handled_at``: e.g. the ICCID barred in the network)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Cancelling at the supplier")
        REVOKED = "revoked", _("Cancelled at the supplier")
        REFUSED = "refused", _("Refused by the supplier")
        NOT_SUPPORTED = "not_supported", _("Supplier cannot cancel")
        FAILED = "failed", _("Supplier unreachable")

    #: the outcomes that leave a profile possibly usable: staff must act
    NEEDS_ACTION = (Status.REFUSED, Status.NOT_SUPPORTED, Status.FAILED)

    esim = models.OneToOneField(Esim, on_delete=models.PROTECT, related_name="upstream_revoke",
                                verbose_name=_("eSIM"))
    supplier = models.CharField(_("supplier"), max_length=40)
    reference = models.CharField(_("supplier reference"), max_length=100, unique=True)
    cause = models.CharField(_("cause"), max_length=200,
                             help_text=_("why the eSIM stopped being the customer's"))
    status = models.CharField(_("status"), max_length=14, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    code = models.CharField(_("supplier's code"), max_length=60, blank=True)
    message = models.CharField(_("supplier's message"), max_length=500, blank=True)
    requested_at = models.DateTimeField(_("requested at"), default=clock.now, db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    revoked_upstream_at = models.DateTimeField(_("cancelled upstream at"), null=True,
                                               blank=True)
    handled_at = models.DateTimeField(_("settled by staff at"), null=True, blank=True)
    handled_by = models.CharField(_("settled by"), max_length=200, blank=True)
    handled_note = models.CharField(_("how it was settled"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("upstream cancellation")
        verbose_name_plural = _("upstream cancellations")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return _("%(esim)s at %(supplier)s: %(status)s") % {
            "esim": self.esim, "supplier": self.supplier, "status": self.get_status_display()}

    @property
    def needs_action(self) -> bool:
        return self.status in self.NEEDS_ACTION and self.handled_at is None
