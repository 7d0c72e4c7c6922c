"""Checkout, order pages, transaction history, receipts and the sandbox's hosted page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.core.errors import DomainError, NotFound
from esimdesk.orders import queries as order_queries
from esimdesk.orders.models import Order
from esimdesk.orders.receipts import receipt_filename, render_receipt_pdf
from esimdesk.orders.services import LineRequest
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment
from esimdesk.payments.providers.sandbox import DECLINE_REASONS
from esimdesk.portal.forms import CheckoutForm, PayAgainForm
from esimdesk.portal.views.common import flash_error


def _after_payment_started(payment: Payment) -> HttpResponse:
    action = payment.next_action or {}
    if action.get("type") == "redirect" and action.get("url"):
        return redirect(action["url"])
    return redirect("portal:order", number=payment.order.number)


@require_POST
@login_required
def checkout(request: HttpRequest) -> HttpResponse:
    form = CheckoutForm(request.POST)
    back = request.META.get("HTTP_REFERER") or reverse("portal:home")
    if not form.is_valid():
        messages.error(request, _("Choose a currency and a payment method."))
        return redirect(back)
    data = form.cleaned_data
    line = (LineRequest(type="renewal", plan=data["plan"], iccid=data["iccid"])
            if data["iccid"] else LineRequest(type="new_esim", plan=data["plan"]))
    try:
        payment = payments.checkout(user=request.user, lines=[line], currency=data["currency"],
                                    provider=data["provider"])
    except DomainError as error:
        flash_error(request, error)
        return redirect(back)
    return _after_payment_started(payment)


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    orders = list(order_queries.orders_of(request.user))
    rows = [(order, payments.latest_payment(order)) for order in orders]
    return render(request, "portal/orders.html", {"rows": rows})


@login_required
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        order = order_queries.order_of(request.user, number)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    payment = payments.latest_payment(order)
    preparing = order.status == Order.Status.PAID
    return render(request, "portal/order.html", {
        "order": order, "payment": payment, "lines": list(order.lines.all()),
        "preparing": preparing,
        "can_pay": order.status == Order.Status.AWAITING_PAYMENT,
        "pay_form": PayAgainForm(),
        "attempts": sorted(order.payments.all(), key=lambda p: (p.created_at, p.pk)),
    })


@require_POST
@login_required
def pay_again(request: HttpRequest, number: str) -> HttpResponse:
    form = PayAgainForm(request.POST)
    try:
        order = order_queries.order_of(request.user, number)
        if not form.is_valid():
            messages.error(request, _("Choose a payment method."))
            return redirect("portal:order", number=number)
        payment = payments.start_payment(user=request.user, order=order,
                                         provider=form.cleaned_data["provider"])
    except NotFound as error:
        raise Http404(str(error.message)) from error
    except DomainError as error:
        flash_error(request, error)
        return redirect("portal:order", number=number)
    return _after_payment_started(payment)


@login_required
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    try:
        order = order_queries.order_of(request.user, number)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    if not hasattr(order, "receipt"):
        raise Http404(_("The receipt is issued once the order is complete."))
    response = HttpResponse(render_receipt_pdf(order), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(order)}"'
    return response


def sandbox_pay(request: HttpRequest, reference: str) -> HttpResponse:
    """The sandbox provider's hosted payment page (what Stripe Checkout would be)."""
    try:
        payment = payments.sandbox_payment_by_reference(reference)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        decline_code = request.POST.get("decline_code", "card_declined")
        if decline_code not in DECLINE_REASONS:
            decline_code = "card_declined"
        try:
            payments.complete_sandbox_reference(reference=reference, outcome=outcome,
                                                decline_code=decline_code)
        except DomainError as error:
            flash_error(request, error)
            return redirect("portal:sandbox_pay", reference=reference)
        return redirect("portal:order", number=payment.order.number)
    context: dict[str, Any] = {"payment": payment, "order": payment.order,
                               "reasons": DECLINE_REASONS.items()}
    return render(request, "portal/sandbox_pay.html", context)
