"""Support conversation writes. Each owns its transaction, records an audit row for every
state change, and publishes the live event after commit (``realtime``).

Rules: a customer has at most one conversation that is not resolved; writing again after a
resolution reopens the latest one for a day, then starts a new one. Messages come no faster
than ``chat_limits`` allows. A message waiting for an agent sets ``waiting_since``; an
agent's reply clears it. A chat nobody answers within ``ESIMDESK_CHAT_ANSWER_MINUTES``
becomes a ticket: the customer is told in the chat and by e-mail, and agents' replies then
also go out by e-mail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk import config
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from esimdesk.notifications import services as notifications
from esimdesk.support import attachments, chat_limits, realtime
from esimdesk.support.models import CONVERSATION_STATES, Conversation, Message

MAX_BODY = 4000
REOPEN_WITHIN = dt.timedelta(days=1)
INBOX_GROUP = "support-inbox"


def group_of(conversation_id: int) -> str:
    """Agents looking at one conversation."""
    return f"support-conversation-{conversation_id}"


def customer_group(customer_id: int) -> str:
    """Every open tab of one customer (their chat follows them across conversations)."""
    return f"support-customer-{customer_id}"


def message_event(message: Message) -> dict[str, Any]:
    """What browsers get for a new message (same fields as the API's message)."""
    return {"type": "chat.message", "message": {
        "id": message.pk, "conversation": message.conversation_id, "sender": message.sender,
        "author": (getattr(message.author, "name", "") or "") if message.author_id else "",
        "body": message.body, "created_at": message.created_at.isoformat(),
        "attachment": ({"name": message.attachment_name, "type": message.attachment_type,
                        "url": reverse("support:attachment", args=[message.pk])}
                       if message.attachment else None)}}


def _inbox_event(conversation: Conversation, message: Message | None) -> dict[str, Any]:
    return {"type": "inbox.update", "conversation": {
        "id": conversation.pk, "status": conversation.status, "channel": conversation.channel,
        "assigned_to": conversation.assigned_to_id,
        "customer": str(conversation.customer),
        "waiting_since": (conversation.waiting_since.isoformat()
                          if conversation.waiting_since else None),
        "last": ({"sender": message.sender, "body": message.body[:200],
                  "at": message.created_at.isoformat()} if message is not None else None)}}


def _announce(conversation: Conversation, message: Message | None = None) -> None:
    groups = (group_of(conversation.pk), customer_group(conversation.customer_id))
    for group in groups:
        if message is not None:
            realtime.publish_after_commit(group, message_event(message))
        realtime.publish_after_commit(group, {"type": "chat.status",
                                              "conversation": conversation.pk,
                                              "status": conversation.status,
                                              "channel": conversation.channel})
    realtime.publish_after_commit(INBOX_GROUP, _inbox_event(conversation, message))


def _clean(body: str) -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_BODY:
        raise ValidationFailed(code="message_too_long", detail={"max_length": MAX_BODY})
    return text


def _add(conversation: Conversation, *, sender: str, author: Any, body: str,
         client_id: str = "", attachment: tuple[str, bytes] | None = None) -> Message:
    stored = (attachments.store(conversation_id=conversation.pk, name=attachment[0],
                                content=attachment[1]) if attachment else None)
    if not body and stored is None:
        raise ValidationFailed(code="message_empty")
    fields: dict[str, Any] = {"conversation": conversation, "sender": sender,
                              "author": author, "body": body, "client_id": client_id[:64]}
    if stored is not None:
        fields.update(attachment=stored.path, attachment_name=stored.name,
                      attachment_type=stored.content_type, attachment_size=stored.size)
    return Message.objects.create(**fields)


def _existing(conversation: Conversation, client_id: str) -> Message | None:
    if not client_id:
        return None
    return Message.objects.filter(conversation=conversation, client_id=client_id[:64]).first()


def current_conversation(*, customer: Any) -> Conversation | None:
    """The conversation the customer's next message goes to, if any."""
    latest = Conversation.objects.filter(customer=customer).order_by("-updated_at", "-pk").first()
    if latest is None:
        return None
    if latest.status != Conversation.Status.RESOLVED:
        return latest
    if latest.resolved_at and clock.now() - latest.resolved_at < REOPEN_WITHIN:
        return latest
    return None


def post_customer_message(*, customer: Any, body: str, client_id: str = "",
                          attachment: tuple[str, bytes] | None = None) -> Message:
    """The customer writes (portal, API or WebSocket). Idempotent on ``client_id``."""
    text = _clean(body)
    with transaction.atomic():
        # The customer's row orders their writes: one conversation is started, not one per
        # racing request, and the rate limit counts every message before this one.
        list(get_user_model().objects.select_for_update().filter(pk=customer.pk)
             .values_list("pk", flat=True))
        conversation = current_conversation(customer=customer)
        if conversation is not None:
            conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
            again = _existing(conversation, client_id)
            if again is not None:
                return again
        chat_limits.check(Message.objects.filter(author=customer,
                                                 sender=Message.Sender.CUSTOMER),
                          chat_limits.CUSTOMER, clock.now())
        if conversation is None:
            conversation = Conversation.objects.create(
                customer=customer, language=getattr(customer, "language", "") or "en",
                subject=text.splitlines()[0][:120] if text else "")
            audit.record_by_user(user=customer, action="support.conversation_started",
                                 obj=conversation)
        try:
            with transaction.atomic():
                message = _add(conversation, sender=Message.Sender.CUSTOMER, author=customer,
                               body=text, client_id=client_id, attachment=attachment)
        except IntegrityError:  # the same client id raced in from another request
            found = _existing(conversation, client_id)
            if found is None:
                raise
            return found
        now = clock.now()
        if conversation.status != Conversation.Status.OPEN:
            before = conversation.status
            CONVERSATION_STATES.check(before, Conversation.Status.OPEN)
            conversation.status = Conversation.Status.OPEN
            conversation.resolved_at = None
            audit.record_by_user(user=customer, action="support.reopened", obj=conversation,
                                 before={"status": before}, after={"status": "open"})
        conversation.waiting_since = conversation.waiting_since or now
        conversation.updated_at = now
        conversation.save(update_fields=["status", "resolved_at", "waiting_since",
                                         "updated_at"])
        _announce(conversation, message)
    return message


def _may_answer(agent: Any) -> None:
    if not (getattr(agent, "is_staff", False) and agent.has_perm("support.reply_conversation")):
        raise PermissionDenied(code="not_an_agent")


def _locked(conversation_id: int) -> Conversation:
    # Only the conversation's row: a customer's write locks their own row first, then the
    # conversation, so locking the customer here as well could deadlock with it.
    try:
        return Conversation.objects.select_for_update(of=("self",)).select_related(
            "customer").get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound(code="unknown_conversation") from None


def post_agent_reply(*, agent: Any, conversation_id: int, body: str,
                     client_id: str = "") -> Message:
    """An agent answers. Unassigned conversations become the agent's; on a ticket the
    answer also goes to the customer by e-mail, in their language."""
    _may_answer(agent)
    text = _clean(body)
    with transaction.atomic():
        conversation = _locked(conversation_id)
        again = _existing(conversation, client_id)
        if again is not None:
            return again
        chat_limits.check(conversation.messages.filter(author=agent,
                                                       sender=Message.Sender.AGENT),
                          chat_limits.AGENT, clock.now())
        message = _add(conversation, sender=Message.Sender.AGENT, author=agent, body=text,
                       client_id=client_id)
        now = clock.now()
        if conversation.assigned_to_id is None:
            conversation.assigned_to = agent
            audit.record_by_user(user=agent, action="support.assigned", obj=conversation,
                                 after={"agent": agent.pk})
        if conversation.status == Conversation.Status.OPEN:
            conversation.status = Conversation.Status.WAITING
        conversation.waiting_since = None
        conversation.first_reply_at = conversation.first_reply_at or now
        conversation.updated_at = now
        conversation.save(update_fields=["assigned_to", "status", "waiting_since",
                                         "first_reply_at", "updated_at"])
        audit.record_by_user(user=agent, action="support.replied", obj=conversation,
                             after={"message": message.pk})
        if conversation.channel == Conversation.Channel.TICKET:
            _email_reply(conversation, message)
        _announce(conversation, message)
    return message


def _email_reply(conversation: Conversation, message: Message) -> None:
    url = settings.PUBLIC_URL + reverse("support:chat")
    notifications.notify(user=conversation.customer, kind="support_reply",
                         template="support_reply", transactional=True,
                         context={"conversation": conversation, "reply": message.body,
                                  "chat_url": url},
                         dedupe_key=f"support-reply:{message.pk}")


def assign(*, agent: Any, conversation_id: int, to: Any, reason: str = "") -> Conversation:
    """Take a conversation, or transfer it to another agent (who must be able to answer)."""
    _may_answer(agent)
    if to is not None:
        _may_answer(to)
    with transaction.atomic():
        conversation = _locked(conversation_id)
        before = conversation.assigned_to_id
        if before == (to.pk if to else None):
            return conversation
        conversation.assigned_to = to
        conversation.updated_at = clock.now()
        conversation.save(update_fields=["assigned_to", "updated_at"])
        audit.record_by_user(user=agent, action="support.transferred" if before else
                             "support.assigned", obj=conversation, before={"agent": before},
                             after={"agent": to.pk if to else None}, reason=reason)
        _announce(conversation)
    return conversation


def set_status(*, agent: Any, conversation_id: int, status: str) -> Conversation:
    _may_answer(agent)
    if status not in Conversation.Status.values:
        raise ValidationFailed(code="invalid_status")
    with transaction.atomic():
        conversation = _locked(conversation_id)
        before = conversation.status
        if before == status:
            return conversation
        CONVERSATION_STATES.check(before, status)
        conversation.status = status
        now = clock.now()
        conversation.updated_at = now
        message = None
        if status == Conversation.Status.RESOLVED:
            conversation.resolved_at = now
            conversation.waiting_since = None
            with translation.override(conversation.language):
                message = _add(conversation, sender=Message.Sender.SYSTEM, author=None,
                               body=_("This conversation is resolved. How did we do? Rate us "
                                      "below; write again any time if you need more help."))
        conversation.save(update_fields=["status", "updated_at", "resolved_at",
                                         "waiting_since"])
        audit.record_by_user(user=agent, action="support.status", obj=conversation,
                             before={"status": before}, after={"status": status})
        _announce(conversation, message)
    return conversation


def rate(*, customer: Any, conversation_id: int, rating: int, comment: str = "") -> Conversation:
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed(code="invalid_rating")
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.customer_id != customer.pk:
            raise NotFound(code="unknown_conversation")
        if conversation.status != Conversation.Status.RESOLVED:
            raise Conflict(code="conversation_not_resolved")
        conversation.rating = rating
        conversation.rating_comment = (comment or "").strip()[:500]
        conversation.save(update_fields=["rating", "rating_comment"])
        audit.record_by_user(user=customer, action="support.rated", obj=conversation,
                             after={"rating": rating})
        _announce(conversation)
    return conversation


def escalate_unanswered(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Sweep: chats waiting longer than the answer time become tickets, once each."""
    now = now or clock.now()
    limit = now - dt.timedelta(minutes=int(config.env("ESIMDESK_CHAT_ANSWER_MINUTES")))
    escalated = 0
    candidates = Conversation.objects.filter(
        channel=Conversation.Channel.CHAT, waiting_since__lte=limit,
        status=Conversation.Status.OPEN).order_by("pk").values_list("pk", flat=True)
    for pk in list(candidates[:500]):
        with transaction.atomic():
            conversation = _locked(pk)
            if (conversation.channel != Conversation.Channel.CHAT
                    or conversation.waiting_since is None or conversation.waiting_since > limit):
                continue
            conversation.channel = Conversation.Channel.TICKET
            conversation.updated_at = now
            conversation.save(update_fields=["channel", "updated_at"])
            customer = conversation.customer
            with translation.override(conversation.language):
                text = (_("All our agents are busy right now. We have kept your message and will "
                          "answer by e-mail to %(email)s — you can also keep writing here.")
                        % {"email": customer.email} if customer.email else
                        _("All our agents are busy right now. We have kept your message and will "
                          "answer here as soon as we can."))
            message = _add(conversation, sender=Message.Sender.SYSTEM, author=None, body=text)
            audit.record(action="support.became_ticket", obj=conversation, actor_type="task",
                         actor="support", after={"channel": "ticket"})
            notifications.notify(user=customer, kind="support_ticket",
                                 template="support_ticket", transactional=True,
                                 context={"conversation": conversation,
                                          "chat_url": settings.PUBLIC_URL
                                          + reverse("support:chat")},
                                 dedupe_key=f"support-ticket:{conversation.pk}")
            _announce(conversation, message)
            escalated += 1
    return {"escalated": escalated}
