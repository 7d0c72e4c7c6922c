"""Alerts: one row per incident (a supplier failing or failing over, activations piling
up, renewals declining, a chat waiting), opened by the ``alerts`` sweep when a threshold is
crossed and closed when it clears. The database keeps at most one open incident per (kind, subject):
``open_key`` is set while the alert is open and emptied (NULL) when it closes, and it is
unique, so two sweeps running at once cannot open the same incident twice."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock


class Alert(models.Model):
    class Kind(models.TextChoices):
        SUPPLIER = "supplier", _("Supplier failing")
        SUPPLIER_IN_A_ROW = "supplier_failing_in_a_row", _("Supplier failing every call")
        FAILOVER_SHARE = "supplier_failover_share", _("Supplier failing over orders")
        ACTIVATIONS = "activations", _("Activations piling up")
        RENEWALS = "renewals", _("Renewals declining")
        CHAT = "chat", _("Chat waiting")
        UPSTREAM_REVOKE = "upstream_revoke", _("Profile not cancelled at the supplier")
        #: One per supplier (the subject): profiles it may hold that no order got.
        POSSIBLY_ALLOCATED = "possibly_allocated", _("Profiles possibly allocated")

    kind = models.CharField(max_length=40, choices=Kind.choices, verbose_name=_("kind"))
    #: What the incident is about within its kind: a supplier's name, a conversation's id,
    #: or "" for the shop as a whole.
    subject = models.CharField(max_length=100, blank=True, verbose_name=_("subject"))
    #: ``kind:subject`` while open, NULL once closed: unique, so one open incident each.
    open_key = models.CharField(max_length=150, null=True, blank=True, unique=True,
                                verbose_name=_("open key"))
    opened_at = models.DateTimeField(default=clock.now, db_index=True, verbose_name=_("opened at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    #: The figures that crossed the threshold when it opened (and their latest values).
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    emailed = models.BooleanField(default=False, verbose_name=_("e-mailed"))

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at", "-pk"]
        permissions = [("view_figures", "Can see the business figures on the console home"),
                       ("view_money", "Can see the money figures on the console's Money page")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.subject}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
