"""Staff pages beside the Django admin: the outbox of every e-mail and SMS sent."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.clickjacking import xframe_options_sameorigin

from esimdesk.core.admin_base import console_page
from esimdesk.core.errors import DomainError
from esimdesk.core.money import Money, exponent
from esimdesk.notifications.models import OutboxMessage
from esimdesk.payments import refunds
from esimdesk.payments.models import Payment
from esimdesk.staff.forms import RefundForm


@staff_member_required
@permission_required("notifications.view_outboxmessage", raise_exception=True)
def outbox(request: HttpRequest) -> HttpResponse:
    messages = OutboxMessage.objects.all()
    channel = request.GET.get("channel")
    if channel in ("email", "sms"):
        messages = messages.filter(channel=channel)
    query = (request.GET.get("q") or "").strip()
    if query:
        messages = messages.filter(to__icontains=query)
    page = Paginator(messages, 50).get_page(request.GET.get("page"))
    return console_page(request, "staff/outbox.html", {"page": page, "channel": channel,
                                                 "query": query})


@staff_member_required
@permission_required("notifications.view_outboxmessage", raise_exception=True)
def outbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    attachments = [(index, item["filename"], item["mimetype"])
                   for index, item in enumerate(message.attachments)]
    return console_page(request, "staff/outbox_message.html", {"message": message,
                                                         "attachments": attachments})


# An e-mail's HTML part as the recipient's mail program shows it: its inline styles apply,
# nothing runs and nothing is fetched (no scripts, forms, remote images or fonts), and only
# the console's own outbox page may frame it.
MAIL_PREVIEW_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                       "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox")


@xframe_options_sameorigin
@staff_member_required
@permission_required("notifications.view_outboxmessage", raise_exception=True)
def outbox_message_html(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    if not message.body_html:
        raise Http404
    response = HttpResponse(message.body_html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = MAIL_PREVIEW_POLICY
    return response


@staff_member_required
@permission_required("notifications.view_outboxmessage", raise_exception=True)
def outbox_attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    if not 0 <= index < len(message.attachments):
        raise Http404
    filename, mimetype, content = message.attachment(index)
    response = HttpResponse(content, content_type=mimetype)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@staff_member_required
@permission_required("payments.add_refund", raise_exception=True)
def refund_payment(request: HttpRequest, payment_id: str) -> HttpResponse:
    """Refund all or part of a payment (finance staff). Audited, and the customer is told."""
    payment = get_object_or_404(Payment.objects.select_related("order", "order__user"),
                                public_id=payment_id)
    form = RefundForm(request.POST or None,
                      initial={"amount": payment.refundable.decimal()})
    if request.method == "POST" and form.is_valid():
        places = exponent(payment.currency)
        value = form.cleaned_data["amount"].scaleb(places)
        if value != value.to_integral_value():
            form.add_error("amount", f"{payment.currency} has {places} decimal places")
        else:
            try:
                refunds.request_refund(payment=payment,
                                       amount=Money(int(value), payment.currency),
                                       via="staff", reason=form.cleaned_data["reason"],
                                       user=request.user)
            except DomainError as error:
                form.add_error("amount", str(error.message))
            else:
                messages.success(request, f"Refund of {form.cleaned_data['amount']} "
                                 f"{payment.currency} requested for {payment.order.number}.")
                return redirect("admin:payments_payment_changelist")
    return console_page(request, "staff/refund.html", {"payment": payment, "form": form,
                                                 "title": f"Refund {payment.public_id}"})
