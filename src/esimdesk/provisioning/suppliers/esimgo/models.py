"""eSIM Go's own records: what esimdesk asked it for, by esimdesk's reference."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock


class EsimGoOrder(models.Model):
    """One esimdesk request to eSIM Go (a new profile or a bundle applied to an ICCID), keyed
    by esimdesk's reference. eSIM Go takes no client reference on ``POST /orders``, so this
    row is written *before* the order is sent, and its ``state`` says how far it got:

    - ``new``: nothing was sent, or eSIM Go answered that it ordered nothing (a refusal, a
      rate limit, a connection that never opened): ordering again is safe.
    - ``unknown``: an order was sent and no clear answer came back (a timeout, a 5xx, a
      garbled body, a crash in between). eSIM Go may hold an order esimdesk does not know:
      staff see it as *possibly allocated*. The next try looks for that order in
      ``GET /orders`` before it orders again.
    - ``ordered``: eSIM Go's ``orderReference`` is known; a new profile waits for its
      activation code (asynchronous orders).
    - ``ready``: the profile's activation code is known, or the bundle was applied.
    - ``refused``: eSIM Go refused the order for good (unknown bundle, no credit): nothing
      was allocated; trying the same reference again sends the order again.
    - ``reconciled``: was possibly allocated; staff checked eSIM Go's portal and dealt with
      any order found there (``ordering.mark_reconciled``); trying again sends the order.
    """

    class State(models.TextChoices):
        NEW = "new", _("not ordered yet")
        UNKNOWN = "unknown", _("possibly allocated")
        ORDERED = "ordered", _("ordered")
        READY = "ready", _("ready")
        REFUSED = "refused", _("refused")
        RECONCILED = "reconciled", _("reconciled by staff")

    reference = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, help_text="profile (new eSIM) or plan (apply)")
    plan_code = models.CharField(max_length=60)
    bundle = models.CharField(max_length=100)
    target_iccid = models.CharField(max_length=20, blank=True,
                                    help_text="the eSIM a plan is applied to")
    state = models.CharField(max_length=10, choices=State.choices, default=State.NEW,
                             verbose_name=_("state"))
    order_reference = models.CharField(max_length=100, blank=True,
                                       help_text="eSIM Go's orderReference, once known")
    iccid = models.CharField(max_length=20, blank=True)
    smdp_address = models.CharField(max_length=253, blank=True)
    matching_id = models.CharField(max_length=255, blank=True)
    last_error = models.CharField(max_length=200, blank=True, verbose_name=_("last error"),
                                  help_text=_("what eSIM Go last answered, when it failed"))
    # When the order was last sent: bounds the search for an order whose answer was lost.
    requested_at = models.DateTimeField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("eSIM Go order")
        verbose_name_plural = _("eSIM Go orders")
        constraints = [
            # One eSIM Go order answers one esimdesk request: two rows recovering lost
            # answers at once cannot both adopt the same order.
            models.UniqueConstraint(fields=["order_reference"], condition=~Q(order_reference=""),
                                    name="esimgo_order_adopted_once"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} -> {self.order_reference or self.state}"
