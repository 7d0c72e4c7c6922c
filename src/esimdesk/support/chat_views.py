"""The customer's chat with support (``/support/chat/``). A plain page with a form that works
without JavaScript; ``chat.js`` adds the live WebSocket on top (and falls back to polling
``messages.json`` when the realtime service cannot be reached)."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from esimdesk.core.errors import DomainError, RateLimited
from esimdesk.support import attachments, conversations
from esimdesk.support.models import Message


class ChatForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Your message"), required=False,
                           max_length=conversations.MAX_BODY,
                           widget=forms.Textarea(attrs={"rows": 3}))
    screenshot = forms.FileField(label=gettext_lazy("Screenshot (optional)"), required=False)
    client_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(label=gettext_lazy("How did we do?"), coerce=int,
                                    choices=[(n, str(n)) for n in range(5, 0, -1)],
                                    widget=forms.RadioSelect)
    comment = forms.CharField(label=gettext_lazy("Anything to add? (optional)"), required=False,
                              max_length=500)


def _page(request: HttpRequest, form: ChatForm, status: int = 200) -> HttpResponse:
    conversation = conversations.current_conversation(customer=request.user)
    history = (list(conversation.messages.select_related("author")) if conversation else [])
    return render(request, "support/chat.html", {
        "conversation": conversation, "history": history, "form": form,
        "rating_form": RatingForm(), "realtime_url": settings.REALTIME_URL,
        "last_id": history[-1].pk if history else 0,
    }, status=status)


@login_required
def chat(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, ChatForm(initial={"client_id": uuid.uuid4().hex}))
    form = ChatForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["screenshot"]
        try:
            conversations.post_customer_message(
                customer=request.user, body=form.cleaned_data["body"],
                client_id=form.cleaned_data["client_id"] or uuid.uuid4().hex,
                attachment=(upload.name, upload.read()) if upload else None)
        except RateLimited as error:
            form.add_error(None, str(error.message))
            response = _page(request, form, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            return redirect("support:chat")
    return _page(request, form, status=400)


@login_required
def chat_messages(request: HttpRequest) -> JsonResponse:
    """Messages after ``?after=<id>`` in the customer's current conversation (polling
    fallback for the WebSocket)."""
    conversation = conversations.current_conversation(customer=request.user)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    items = ([conversations.message_event(m)["message"] for m in
              conversation.messages.filter(pk__gt=after).select_related("author")]
             if conversation else [])
    response = JsonResponse({"conversation": conversation.pk if conversation else None,
                             "status": conversation.status if conversation else None,
                             "channel": conversation.channel if conversation else None,
                             "messages": items})
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def chat_rate(request: HttpRequest, conversation_id: int) -> HttpResponse:
    form = RatingForm(request.POST)
    if not form.is_valid():
        flash.error(request, _("Choose from 1 to 5 stars."))
        return redirect("support:chat")
    try:
        conversations.rate(customer=request.user, conversation_id=conversation_id,
                           rating=form.cleaned_data["rating"],
                           comment=form.cleaned_data["comment"])
    except DomainError as error:
        flash.error(request, str(error.message))
    else:
        flash.success(request, _("Thank you for your rating."))
    return redirect("support:chat")


@login_required
def attachment(request: HttpRequest, message_id: int) -> HttpResponse:
    """A screenshot, to the conversation's customer or to an agent only."""
    message = (Message.objects.select_related("conversation")
               .filter(pk=message_id).exclude(attachment="").first())
    if message is None:
        raise Http404
    user = request.user
    mine = message.conversation.customer_id == user.pk
    agent = user.is_staff and user.has_perm("support.view_conversation")
    if not (mine or agent):
        raise Http404
    response = HttpResponse(attachments.read(message.attachment),
                            content_type=message.attachment_type)
    response["Content-Disposition"] = f'inline; filename="{message.attachment_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response

