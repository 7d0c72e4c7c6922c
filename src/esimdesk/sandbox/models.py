"""The sandbox's own books. It plays an upstream supplier (the simulator: the profiles, plan
applications, top-ups, usage and callbacks it handed out) and a payment provider (charges and
refunds), and keeps what each would keep, so idempotent references, reconciliation and failure
handling are exercised against real rows, not mocks.

The tables keep the names they had when these models lived in provisioning and payments
(``db_table``): moving the code moved no data."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

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

    reference = models.CharField(max_length=100, unique=True, verbose_name=_("reference"))
    # NULL only between insert and numbering from the row id (several may be in flight).
    iccid = models.CharField(max_length=20, unique=True, null=True,  # noqa: DJ001
                             verbose_name=_("ICCID"))
    matching_id = models.CharField(max_length=64, verbose_name=_("matching id"))
    plan_code = models.CharField(max_length=60, verbose_name=_("plan code"))
    status = models.CharField(max_length=20, default="released", verbose_name=_("status"))
    state = models.CharField(max_length=12, choices=State.choices, default=State.RELEASED,
                             verbose_name=_("state"))
    suspended = models.BooleanField(default=False, verbose_name=_("suspended"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    state_changed_at = models.DateTimeField(null=True, blank=True,
                                            verbose_name=_("state changed at"))
    first_used_at = models.DateTimeField(
        null=True, blank=True, help_text=_("when the simulated phone first attached to a network"),
        verbose_name=_("first used at"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("simulated profile")
        verbose_name_plural = _("simulated profiles")
        db_table = "provisioning_simulatedprofile"

    def __str__(self) -> str:
        return f"{self.iccid} ({self.state}, {self.status})"


class SimulatedAction(models.Model):
    """A suspend, resume or revoke the simulator carried out: one per esimdesk reference."""

    reference = models.CharField(max_length=100, unique=True, verbose_name=_("reference"))
    profile = models.ForeignKey(SimulatedProfile, on_delete=models.CASCADE,
                                related_name="actions", verbose_name=_("profile"))
    action = models.CharField(max_length=8, help_text=_("suspend, resume or revoke"),
                              verbose_name=_("action"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("simulated action")
        verbose_name_plural = _("simulated actions")
        db_table = "provisioning_simulatedaction"

    def __str__(self) -> str:
        return f"{self.action} {self.profile.iccid} ({self.reference})"


class SimulatedCallback(models.Model):
    """One signed callback the simulator sends to esimdesk (status events or usage), kept
    with the exact body it signed, and delivered by a task until esimdesk accepts it."""

    class Kind(models.TextChoices):
        STATUS = "status"
        USAGE = "usage"

    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    body = models.TextField(help_text=_("the JSON body, exactly as signed"), verbose_name=_("body"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True,
                                                        verbose_name=_("last HTTP status"))
    last_answer = models.JSONField(null=True, blank=True, verbose_name=_("last answer"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    gave_up_at = models.DateTimeField(null=True, blank=True, verbose_name=_("gave up at"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("simulated callback")
        verbose_name_plural = _("simulated callbacks")
        db_table = "provisioning_simulatedcallback"
        indexes = [models.Index(fields=["-created_at"])]

    def __str__(self) -> str:
        return _("%(kind)s callback %(number)s") % {"kind": self.kind, "number": self.pk}


class SimulatedProfileEvent(models.Model):
    """A profile status event the simulator emitted (unique id), and the callback that
    carries it to esimdesk."""

    event_id = models.CharField(max_length=64, unique=True, verbose_name=_("event id"))
    profile = models.ForeignKey(SimulatedProfile, on_delete=models.CASCADE,
                                related_name="events", verbose_name=_("profile"))
    status = models.CharField(max_length=12, verbose_name=_("status"))
    previous = models.CharField(max_length=12, blank=True, verbose_name=_("previous"))
    origin = models.CharField(max_length=10, help_text=_("staff, auto or simulator"),
                              verbose_name=_("origin"))
    callback = models.ForeignKey(SimulatedCallback, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="events", verbose_name=_("callback"))
    occurred_at = models.DateTimeField(default=clock.now, verbose_name=_("occurred at"))

    class Meta:
        verbose_name = _("simulated profile event")
        verbose_name_plural = _("simulated profile events")
        db_table = "provisioning_simulatedprofileevent"
        indexes = [models.Index(fields=["-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} {self.status}"


class SimulatedPlanApplication(models.Model):
    reference = models.CharField(max_length=100, unique=True, verbose_name=_("reference"))
    profile = models.ForeignKey(SimulatedProfile, on_delete=models.CASCADE,
                                related_name="applications", verbose_name=_("profile"))
    plan_code = models.CharField(max_length=60, verbose_name=_("plan code"))
    starts = models.CharField(max_length=8, default="queued",
                              help_text=_("queued (after the running plan) or now (plan change)"),
                              verbose_name=_("starts"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("simulated plan application")
        verbose_name_plural = _("simulated plan applications")
        db_table = "provisioning_simulatedplanapplication"


class SimulatedTopUp(models.Model):
    """A top-up the simulator applied: one per esimdesk reference, however often asked."""

    reference = models.CharField(max_length=100, unique=True, verbose_name=_("reference"))
    profile = models.ForeignKey(SimulatedProfile, on_delete=models.CASCADE,
                                related_name="top_ups", verbose_name=_("profile"))
    product_code = models.CharField(max_length=60, verbose_name=_("product code"))
    data_bytes = models.BigIntegerField(default=0, verbose_name=_("data bytes"))
    voice_seconds = models.BigIntegerField(default=0, verbose_name=_("voice seconds"))
    sms_count = models.BigIntegerField(default=0, verbose_name=_("sms count"))
    extend_days = models.PositiveSmallIntegerField(default=0, verbose_name=_("extend days"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("simulated top-up")
        verbose_name_plural = _("simulated top-ups")
        db_table = "provisioning_simulatedtopup"


class SimulatedUsage(models.Model):
    """Usage the simulator metered and reported to esimdesk: the supplier's own books, which
    reconciliation compares with what esimdesk charged. One row per record id
    (``sim-<iccid>-<hour>``), so generating the same hour again adds nothing."""

    record_id = models.CharField(max_length=128, unique=True, verbose_name=_("record id"))
    iccid = models.CharField(max_length=20, verbose_name=_("ICCID"))
    kind = models.CharField(max_length=5, default="data", verbose_name=_("kind"))
    quantity = models.BigIntegerField(help_text=_("bytes, seconds or messages"),
                                      verbose_name=_("quantity"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("simulated usage record")
        verbose_name_plural = _("simulated usage records")
        db_table = "provisioning_simulatedusage"
        indexes = [models.Index(fields=["iccid", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.record_id} {self.quantity}"


class SandboxRecord(models.Model):
    """The sandbox provider's own books (it plays the provider, so it keeps what a provider
    would): one row per charge and per refund. esimdesk's state is never read from here
    except through the sandbox adapter's ``query``, as with any provider."""

    reference = models.CharField(max_length=64, unique=True, verbose_name=_("reference"))
    kind = models.CharField(max_length=10, choices=[("charge", "charge"), ("refund", "refund")],
                            verbose_name=_("kind"))
    payment_id = models.CharField(max_length=32, help_text=_("esimdesk's payment id"),
                                  verbose_name=_("payment id"))
    parent = models.CharField(max_length=64, blank=True, help_text=_("the charge a refund is of"),
                              verbose_name=_("parent"))
    amount = models.BigIntegerField(verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    status = models.CharField(max_length=10, default="open", verbose_name=_("status"))
    method = models.CharField(max_length=100, blank=True, verbose_name=_("method"))
    decline_code = models.CharField(max_length=40, blank=True, verbose_name=_("decline code"))
    saved_token = models.CharField(max_length=64, blank=True, verbose_name=_("saved token"))
    wants_saved = models.BooleanField(default=False, verbose_name=_("wants saved"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("sandbox record")
        verbose_name_plural = _("sandbox records")
        db_table = "payments_sandboxrecord"

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} {self.status}"
