from __future__ import annotations

import base64

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class Notification(models.Model):
    """One message to one recipient. ``dedupe_key`` is unique: a message is never sent twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    dedupe_key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="notifications")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=60, help_text="e.g. order_confirmation, account_code")
    to = models.CharField(max_length=254)
    language = models.CharField(max_length=10, default="en")
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True,
                                    help_text="[{filename, mimetype, content_b64}]")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} to {self.to}"


class OutboxMessage(models.Model):
    """A message delivered by the outbox transport (the embedded default): shown to staff."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    to = models.CharField(max_length=1000)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to}: {self.subject or self.body_text[:40]}"

    def attachment(self, index: int) -> tuple[str, str, bytes]:
        item = self.attachments[index]
        return item["filename"], item["mimetype"], base64.b64decode(item["content_b64"])
