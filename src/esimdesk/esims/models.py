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

    iccid = models.CharField(max_length=20, unique=True)
    eid = models.CharField(max_length=32, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="esims")
    label = models.CharField(_("label"), max_length=60, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.READY)
    smdp_address = models.CharField(max_length=253)
    matching_id = models.CharField(max_length=255)
    confirmation_code = models.CharField(max_length=32, blank=True)
    upstream = models.CharField(max_length=40, help_text="supplier that issued the profile")
    upstream_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    installed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "eSIM"

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
