"""Checkout, order pages, transaction history, receipts and the sandbox's hosted page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.core.errors import DomainError, NotFound
from esimdesk.orders import queries as order_queries
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.orders.receipts import receipt_filename, render_receipt_pdf
from esimdesk.orders.services import LineRequest
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment
from esimdesk.payments.providers.sandbox import DECLINE_REASONS
from esimdesk.portal.forms import CheckoutForm, PayAgainForm
from esimdesk.portal.views.common import current_currency, flash_error
from esimdesk.subscriptions.queries import preview_window


def _after_payment_started(payment: Payment) -> HttpResponse:
    action = payment.next_action or {}
    if action.get("type") == "redirect" and action.get("url"):
        return redirect(action["url"])
    return redirect("portal:order", number=payment.order.number)


def _checkout_line(plan: str, iccid: str) -> LineRequest:
    if iccid:
        return LineRequest(type="renewal", plan=plan, iccid=iccid)
    return LineRequest(type="new_esim", plan=plan)


@login_required
def checkout(request: HttpRequest) -> HttpResponse:
    """Review and pay. The preview is priced by the same function that prices the order."""
    source = request.POST if request.method == "POST" else request.GET
    plan, iccid = source.get("plan", ""), source.get("iccid", "")
    currency = (source.get("currency") or current_currency(request)).upper()
    form = CheckoutForm(request.POST or None,
                        initial={"plan": plan, "iccid": iccid, "currency": currency})
    line = _checkout_line(plan, iccid)
    try:
        priced = orders.price_lines(user=request.user, lines=[line], currency=currency)
    except DomainError as error:
        return render(request, "portal/checkout.html", {"error": error.message,
                                                        "currency": currency}, status=400)
    if request.method == "POST" and form.is_valid():
        try:
            payment = payments.checkout(user=request.user, lines=[line], currency=currency,
                                        provider=form.cleaned_data["provider"])
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            return _after_payment_started(payment)
    window = preview_window(priced[0].plan, priced[0].esim)
    return render(request, "portal/checkout.html", {
        "form": form, "lines": priced, "total": orders.total_of(priced, currency),
        "currency": currency, "plan": priced[0].plan, "esim": priced[0].esim,
        "starts_at": window[0], "ends_at": window[1],
    }, status=400 if form.errors else 200)


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
