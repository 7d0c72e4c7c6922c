"""Staff pages beside the Django admin: the outbox of every e-mail and SMS sent."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from esimdesk.notifications.models import OutboxMessage


@staff_member_required
def outbox(request: HttpRequest) -> HttpResponse:
    messages = OutboxMessage.objects.all()
    channel = request.GET.get("channel")
    if channel in ("email", "sms"):
        messages = messages.filter(channel=channel)
    query = (request.GET.get("q") or "").strip()
    if query:
        messages = messages.filter(to__icontains=query)
    page = Paginator(messages, 50).get_page(request.GET.get("page"))
    return render(request, "staff/outbox.html", {"page": page, "channel": channel,
                                                 "query": query})


@staff_member_required
def outbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    attachments = [(index, item["filename"], item["mimetype"])
                   for index, item in enumerate(message.attachments)]
    return render(request, "staff/outbox_message.html", {"message": message,
                                                         "attachments": attachments})


@staff_member_required
def outbox_attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    if not 0 <= index < len(message.attachments):
        raise Http404
    filename, mimetype, content = message.attachment(index)
    response = HttpResponse(content, content_type=mimetype)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
