from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock
from esimdesk.core.audit_labels import ACTIONS


class AuditEntry(models.Model):
    """Who changed what, from which state to which, when and why. Append-only."""

    class ActorType(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        STAFF = "staff", _("Staff member")
        PROVIDER = "provider", _("Provider")
        TASK = "task", _("Task")
        SYSTEM = "system", _("System")

    at = models.DateTimeField(default=clock.now, db_index=True, verbose_name=_("at"))
    actor_type = models.CharField(max_length=16, choices=ActorType.choices,
                                  verbose_name=_("actor type"))
    actor = models.CharField(max_length=200, blank=True,
                             help_text=_("user id/e-mail, provider name"), verbose_name=_("actor"))
    action = models.CharField(max_length=100, verbose_name=_("action"))
    object_type = models.CharField(max_length=50, verbose_name=_("object type"))
    object_id = models.CharField(max_length=100, db_index=True, verbose_name=_("object ID"))
    before = models.JSONField(null=True, blank=True, verbose_name=_("before"))
    after = models.JSONField(null=True, blank=True, verbose_name=_("after"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        action = ACTIONS.get(self.action, self.action)
        return f"{self.at:%Y-%m-%d %H:%M:%S} {action}"


class IdempotencyRecord(models.Model):
    """The first response to a money-moving request, replayed for the same key."""

    scope = models.CharField(max_length=100, help_text=_("who and which endpoint"),
                             verbose_name=_("scope"))
    key = models.CharField(max_length=255, verbose_name=_("key"))
    fingerprint = models.CharField(max_length=64, help_text=_("sha256 of method, path and body"),
                                   verbose_name=_("fingerprint"))
    status_code = models.PositiveSmallIntegerField(verbose_name=_("status code"))
    response = models.JSONField(verbose_name=_("response"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="uniq_idem_key")]


class ConsoleSetting(models.Model):
    """A provider option set by staff in the console; wins over the environment."""

    name = models.CharField(max_length=80, unique=True, verbose_name=_("name"))
    value_encrypted = models.TextField(verbose_name=_("value encrypted"))
    updated_at = models.DateTimeField(default=clock.now, verbose_name=_("updated at"))
    updated_by = models.CharField(max_length=200, blank=True, verbose_name=_("updated by"))

    class Meta:
        verbose_name = _("console setting")
        verbose_name_plural = _("console settings")

    def __str__(self) -> str:
        return self.name


class Heartbeat(models.Model):
    """Last time a long-running process (worker, scheduler) showed it is alive."""

    process = models.CharField(max_length=50, unique=True, verbose_name=_("process"))
    seen_at = models.DateTimeField(verbose_name=_("seen at"))
    info = models.JSONField(default=dict, blank=True, verbose_name=_("info"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")
