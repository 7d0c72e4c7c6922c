"""Support conversations: a customer and the agents, live in the portal (or over the API);
when no agent answers in time the conversation becomes a ticket answered by e-mail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock
from esimdesk.core.states import StateMachine


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WAITING = "waiting", _("Waiting for customer")
        RESOLVED = "resolved", _("Resolved")

    class Channel(models.TextChoices):
        CHAT = "chat", _("Live chat")
        TICKET = "ticket", _("Ticket (answered by e-mail)")

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="support_conversations", verbose_name=_("customer"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN,
                              verbose_name=_("status"))
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.CHAT,
                               verbose_name=_("channel"))
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="assigned_chats",
                                    verbose_name=_("assigned to"))
    # Each language named in itself, as the language switch names it.
    language = models.CharField(max_length=10, default="en", verbose_name=_("language"),
                                choices=settings.LANGUAGES)
    subject = models.CharField(max_length=120, blank=True, verbose_name=_("subject"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=clock.now, verbose_name=_("updated at"))
    # Set while a customer message waits for an agent; cleared by the agent's reply.
    waiting_since = models.DateTimeField(null=True, blank=True, db_index=True,
                                         verbose_name=_("waiting since"))
    first_reply_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first reply at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    rating = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("rating"))
    rating_comment = models.CharField(max_length=500, blank=True, verbose_name=_("rating comment"))

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-updated_at", "-id"]
        permissions = [("reply_conversation", "Can answer customers in support conversations")]
        indexes = [models.Index(fields=["status", "waiting_since"])]
        constraints = [models.CheckConstraint(
            condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
            name="rating_1_to_5")]

    def __str__(self) -> str:
        return _("conversation %(number)s with %(customer)s") % {"number": self.pk,
                                                                "customer": self.customer}


CONVERSATION_STATES = StateMachine("conversation", {
    Conversation.Status.OPEN: {Conversation.Status.WAITING, Conversation.Status.RESOLVED},
    Conversation.Status.WAITING: {Conversation.Status.OPEN, Conversation.Status.RESOLVED},
    Conversation.Status.RESOLVED: {Conversation.Status.OPEN},
})


class Message(models.Model):
    class Sender(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("esimdesk")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="messages", verbose_name=_("conversation"))
    sender = models.CharField(max_length=10, choices=Sender.choices, verbose_name=_("sender"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("author"))
    body = models.TextField(blank=True, verbose_name=_("body"))
    # Screenshots: stored under the data dir, served only to the conversation's people.
    attachment = models.CharField(max_length=255, blank=True, help_text=_("path under uploads"),
                                  verbose_name=_("attachment"))
    attachment_name = models.CharField(max_length=120, blank=True,
                                       verbose_name=_("attachment name"))
    attachment_type = models.CharField(max_length=40, blank=True, verbose_name=_("attachment type"))
    attachment_size = models.PositiveIntegerField(default=0, verbose_name=_("attachment size"))
    # A client's id for the message, so a resubmitted form or a retried send posts once.
    client_id = models.CharField(max_length=64, blank=True, verbose_name=_("client id"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(
            fields=["conversation", "client_id"], condition=~models.Q(client_id=""),
            name="uniq_message_client_id")]

    def __str__(self) -> str:
        return _("%(sender)s message %(number)s") % {"sender": self.get_sender_display(),
                                                    "number": self.pk}


class CannedReply(models.Model):
    """Ready answers agents insert and adapt; each in both languages."""

    title = models.CharField(max_length=80, verbose_name=_("title"))
    body_en = models.TextField(verbose_name=_("body (English)"))
    body_zh_hans = models.TextField(verbose_name=_("body (Chinese)"))
    sort = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort"))

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["sort", "title"]

    def __str__(self) -> str:
        return self.title

    def body_for(self, language: str) -> str:
        return self.body_zh_hans if language.lower().startswith("zh") else self.body_en
