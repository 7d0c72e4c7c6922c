from __future__ import annotations

from django.db import models

from esimdesk.core import clock


class AuditEntry(models.Model):
    """Who changed what, from which state to which, when and why. Append-only."""

    class ActorType(models.TextChoices):
        CUSTOMER = "customer"
        STAFF = "staff"
        PROVIDER = "provider"
        TASK = "task"
        SYSTEM = "system"

    at = models.DateTimeField(default=clock.now, db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor = models.CharField(max_length=200, blank=True, help_text="user id/e-mail, provider name")
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=100, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_type}:{self.actor} {self.action}"


class IdempotencyRecord(models.Model):
    """The first response to a money-moving request, replayed for the same key."""

    scope = models.CharField(max_length=100, help_text="who and which endpoint")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="uniq_idem_key")]


class ConsoleSetting(models.Model):
    """A provider option set by staff in the console; wins over the environment."""

    name = models.CharField(max_length=80, unique=True)
    value_encrypted = models.TextField()
    updated_at = models.DateTimeField(default=clock.now)
    updated_by = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.name


class Heartbeat(models.Model):
    """Last time a long-running process (worker, scheduler) showed it is alive."""

    process = models.CharField(max_length=50, unique=True)
    seen_at = models.DateTimeField()
    info = models.JSONField(default=dict, blank=True)
