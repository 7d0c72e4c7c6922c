from __future__ import annotations

import base64

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    # A notice shown in the portal and the app; stored as delivered the moment it is made.
    INAPP = "inapp", _("In-app notice")


class Category(models.TextChoices):
    """Kinds of message a customer may switch off. Transactional messages have none."""

    REMINDERS = "reminders", _("Reminders before a plan ends or its data runs low")
    RENEWALS = "renewals", _("Notices before an automatic renewal")


class Notification(models.Model):
    """One message to one recipient. ``dedupe_key`` is unique: a message is never sent twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    dedupe_key = models.CharField(max_length=200, unique=True, verbose_name=_("dedupe key"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="notifications",
                             verbose_name=_("user"))
    channel = models.CharField(max_length=10, choices=Channel.choices, verbose_name=_("channel"))
    kind = models.CharField(max_length=60, help_text=_("e.g. order_confirmation, account_code"),
                            verbose_name=_("kind"))
    to = models.CharField(max_length=254, verbose_name=_("to"))
    language = models.CharField(max_length=10, default="en", verbose_name=_("language"))
    subject = models.CharField(max_length=255, blank=True, verbose_name=_("subject"))
    body_text = models.TextField(verbose_name=_("body text"))
    body_html = models.TextField(blank=True, verbose_name=_("body html"))
    attachments = models.JSONField(default=list, blank=True,
                                    help_text=_("[{filename, mimetype, content_b64}]"),
                                   verbose_name=_("attachments"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED,
                              verbose_name=_("status"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    created_at = models.DateTimeField(default=clock.now, db_index=True,
                                      verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    read_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("read at"),
        help_text=_("When the customer marked it read (in-app notices)."))
    external_id = models.CharField(max_length=100, blank=True,
                                   help_text=_("The provider's message id, e.g. a Twilio SM… sid."),
                                   verbose_name=_("external id"))

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The history page and API list one customer's messages, newest first.
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
        ]

    def __str__(self) -> str:
        return _("%(channel)s %(kind)s to %(to)s") % {
            "channel": self.get_channel_display(), "kind": self.kind, "to": self.to}


class NotificationPreference(models.Model):
    """How one customer wants to hear from us. Made on demand: a customer without a row has
    the defaults (everything on). Transactional messages ignore the kind switches and always
    reach at least one of e-mail or SMS (see ``routing.channels_for``)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preference", verbose_name=_("user"))
    email = models.BooleanField(_("by e-mail"), default=True)
    sms = models.BooleanField(_("by SMS"), default=True)
    inapp = models.BooleanField(_("as notices in the app and on the website"), default=True)
    reminders = models.BooleanField(
        _("reminders before a plan ends or its data runs low"), default=True)
    renewals = models.BooleanField(_("notices before an automatic renewal"), default=True)
    updated_at = models.DateTimeField(default=clock.now, verbose_name=_("updated at"))

    CHANNEL_FIELDS = ("email", "sms", "inapp")
    CATEGORY_FIELDS = ("reminders", "renewals")

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return _("message preferences of user %(user)s") % {"user": self.user_id}

    def channel_on(self, channel: str) -> bool:
        return bool(getattr(self, Channel(channel).value))

    def wants(self, category: str) -> bool:
        return bool(getattr(self, Category(category).value))


class OutboxMessage(models.Model):
    """A message delivered by the outbox transport (the embedded default): shown to staff."""

    channel = models.CharField(max_length=10, choices=Channel.choices, verbose_name=_("channel"))
    to = models.CharField(max_length=1000, verbose_name=_("to"))
    from_address = models.CharField(max_length=254, blank=True, verbose_name=_("from address"))
    subject = models.CharField(max_length=255, blank=True, verbose_name=_("subject"))
    body_text = models.TextField(verbose_name=_("body text"))
    body_html = models.TextField(blank=True, verbose_name=_("body html"))
    attachments = models.JSONField(default=list, blank=True, verbose_name=_("attachments"))
    created_at = models.DateTimeField(default=clock.now, db_index=True,
                                      verbose_name=_("created at"))

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return _("%(channel)s to %(to)s: %(text)s") % {
            "channel": self.get_channel_display(), "to": self.to,
            "text": self.subject or self.body_text[:40]}

    def attachment(self, index: int) -> tuple[str, str, bytes]:
        item = self.attachments[index]
        return item["filename"], item["mimetype"], base64.b64decode(item["content_b64"])
