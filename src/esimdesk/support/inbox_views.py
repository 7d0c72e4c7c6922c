"""The agent inbox (``/staff/support/``): the queue of conversations with how long each
customer has waited, and one conversation with the reply box, canned replies in both
languages, assignment, transfer and status, beside the customer's context. ``inbox.js``
keeps both live over the WebSocket; without it the pages work as plain forms."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.core import clock
from esimdesk.core.admin_base import console_page
from esimdesk.core.errors import DomainError
from esimdesk.staff.customers import customer_context
from esimdesk.staff.roles import permissions_for
from esimdesk.support import conversations
from esimdesk.support.models import CannedReply, Conversation

QUEUES = ("open", "mine", "unassigned", "waiting", "resolved", "all")


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def agents() -> QuerySet[Any]:
    """Staff who may answer: directly, through a role (group), or superusers."""
    perm = Permission.objects.get(content_type__app_label="support",
                                  codename="reply_conversation")
    return (get_user_model().objects.filter(is_staff=True, is_active=True)
            .filter(Q(is_superuser=True) | Q(user_permissions=perm) | Q(groups__permissions=perm))
            .distinct().order_by("email"))


def _queue(request: HttpRequest, name: str) -> QuerySet[Conversation]:
    rows = Conversation.objects.select_related("customer", "assigned_to")
    if name == "open":
        rows = rows.exclude(status=Conversation.Status.RESOLVED)
    elif name == "mine":
        rows = rows.filter(assigned_to=request.user).exclude(status=Conversation.Status.RESOLVED)
    elif name == "unassigned":
        rows = rows.filter(assigned_to__isnull=True).exclude(
            status=Conversation.Status.RESOLVED)
    elif name in ("waiting", "resolved"):
        rows = rows.filter(status=name)
    # Who has waited longest first; then the most recently active.
    return rows.order_by("waiting_since", "-updated_at")


@staff_member_required
def inbox(request: HttpRequest) -> HttpResponse:
    _require(request, "support.view_conversation")
    name = request.GET.get("queue", "open")
    if name not in QUEUES:
        name = "open"
    rows = list(_queue(request, name)[:200])
    template = ("support/inbox_rows.html" if request.GET.get("fragment")
                else "support/inbox.html")
    return console_page(request, template, {
        "title": _("Support inbox"), "rows": rows, "queue": name, "queues": QUEUES,
        "now": clock.now(), "realtime_url": settings.REALTIME_URL})


def _context_block(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    """The customer's situation beside the conversation (eSIMs with what is left, periods,
    orders and payments, notifications, activation history): the staff console's customer
    context, the same read as its customer page."""

    return {"ctx": customer_context(customer=conversation.customer, request=request),
            "may": permissions_for(request.user)}


@staff_member_required
def conversation_page(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "support.view_conversation")
    conversation = get_object_or_404(Conversation.objects.select_related(
        "customer", "assigned_to"), pk=pk)
    history = list(conversation.messages.select_related("author"))
    return console_page(request, "support/conversation.html", {
        "title": _("Conversation with %(customer)s") % {"customer": conversation.customer},
        "conversation": conversation, "history": history,
        "canned": [(c.pk, c.title, c.body_for(conversation.language))
                   for c in CannedReply.objects.all()],
        "agents": agents(), "client_id": uuid.uuid4().hex, "now": clock.now(),
        "may_reply": request.user.has_perm("support.reply_conversation"),
        "statuses": Conversation.Status.choices,
        "realtime_url": settings.REALTIME_URL, "last_id": history[-1].pk if history else 0,
        **_context_block(request, conversation)})


def _act(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    _require(request, "support.reply_conversation")
    try:
        action()
    except DomainError as error:
        flash.error(request, str(error.message))
    return redirect("support_inbox:conversation", pk=pk)


@require_POST
@staff_member_required
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    body = request.POST.get("body", "")
    canned = request.POST.get("canned", "")
    if not body.strip() and canned.isdigit():
        conversation = get_object_or_404(Conversation, pk=pk)
        chosen = CannedReply.objects.filter(pk=int(canned)).first()
        body = chosen.body_for(conversation.language) if chosen else ""
    return _act(request, pk, lambda: conversations.post_agent_reply(
        agent=request.user, conversation_id=pk, body=body,
        client_id=request.POST.get("client_id", "")))


@require_POST
@staff_member_required
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    target = request.POST.get("agent", "")
    to = (request.user if target == "me" else
          agents().filter(pk=int(target)).first() if target.isdigit() else None)
    if target and to is None:
        flash.error(request, _("That agent cannot answer conversations."))
        return redirect("support_inbox:conversation", pk=pk)
    return _act(request, pk, lambda: conversations.assign(
        agent=request.user, conversation_id=pk, to=to, reason=request.POST.get("reason", "")))


@require_POST
@staff_member_required
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda: conversations.set_status(
        agent=request.user, conversation_id=pk, status=request.POST.get("status", "")))
