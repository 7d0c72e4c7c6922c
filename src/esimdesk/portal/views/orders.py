"""Checkout, order pages, transaction history, receipts, credit notes, refunds."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from esimdesk.core.errors import DomainError, NotFound
from esimdesk.core.http import client_ip
from esimdesk.esims.models import Esim
from esimdesk.orders import queries as order_queries
from esimdesk.orders import services as orders
from esimdesk.orders.kinds import registry as kinds
from esimdesk.orders.lines import STARTS_AT_PERIOD_END, STARTS_WHEN_DATA_RUNS_OUT
from esimdesk.orders.models import Order, OrderLine
from esimdesk.orders.receipts import receipt_filename, render_receipt_pdf
from esimdesk.orders.services import LineRequest, PricedLine
from esimdesk.payments import checkout as placing
from esimdesk.payments import refund_policy
from esimdesk.payments import services as payments
from esimdesk.payments.credit_notes import credit_note_filename, render_credit_note_pdf
from esimdesk.payments.models import Payment, Refund
from esimdesk.portal.forms import CheckoutForm, PayAgainForm
from esimdesk.portal.views.common import current_currency, flash_error, qr_svg_of
from esimdesk.subscriptions.queries import preview_window


def after_payment_started(payment: Payment) -> HttpResponse:
    action = payment.next_action or {}
    if action.get("type") == "redirect" and action.get("url"):
        return redirect(action["url"])
    return redirect("portal:order", number=payment.order.number)


def _device(request: HttpRequest) -> str:
    return payments.device_from_user_agent(request.META.get("HTTP_USER_AGENT", ""))


def _checkout_line(plan: str, iccid: str, product: str = "", change: str = "",
                   starts: str = "") -> LineRequest:
    if product:
        return LineRequest(type="top_up", iccid=iccid, product=product)
    if change:
        return LineRequest(type="plan_change", plan=plan, iccid=iccid, when=change)
    if iccid:
        return LineRequest(type="renewal", plan=plan, iccid=iccid, starts=starts or None)
    return LineRequest(type="new_esim", plan=plan)


def _own_order(request: HttpRequest, number: str) -> Order:
    try:
        return order_queries.order_of(request.user, number)
    except NotFound as error:
        raise Http404(str(error.message)) from error


@login_required
def checkout(request: HttpRequest) -> HttpResponse:
    """Review and pay: a new eSIM, a renewal, a top-up (``product``) or a plan change
    (``change`` = now | period_end). A renewal may start when the data runs out
    (``starts`` = when_data_runs_out). The preview is priced by the same function that
    prices the order, and the amounts shown travel with the form: a different price is
    refused."""
    source = request.POST if request.method == "POST" else request.GET
    plan, iccid = source.get("plan", ""), source.get("iccid", "")
    product, change = source.get("product", ""), source.get("change", "")
    starts = source.get("starts", "")
    currency = (source.get("currency") or current_currency(request)).upper()
    form = CheckoutForm(request.POST or None, currency=currency,
                        initial={"plan": plan, "iccid": iccid, "currency": currency,
                                 "product": product, "change": change, "starts": starts})
    line = _checkout_line(plan, iccid, product, change, starts)
    try:
        priced = orders.price_lines(user=request.user, lines=[line], currency=currency)
    except DomainError as error:
        return render(request, "portal/checkout.html", {"error": error.message,
                                                        "currency": currency}, status=400)
    total = orders.total_of(priced, currency)
    if total.amount == 0:  # the credit covers it: nothing to pay, no method to choose
        form.fields["provider"].required = False
    if request.method == "POST" and form.is_valid():
        try:
            placed = placing.place_order(
                user=request.user, lines=[line], currency=currency,
                method=form.cleaned_data["provider"] or "", device=_device(request),  # type: ignore[arg-type]
                save_method=form.cleaned_data["save_method"], payer_ip=client_ip(request),
                expected_total=form.cleaned_data["expected_total"],
                expected_refund=form.cleaned_data["expected_refund"])
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            if placed.payment is None:
                messages.success(request, _("Done: no payment was needed."))
                return redirect("portal:order", number=placed.order.number)
            return after_payment_started(placed.payment)
    first = priced[0]
    window = ((first.starts_at, first.ends_at) if first.starts_at and first.ends_at
              else preview_window(first.plan, first.esim))
    return render(request, "portal/checkout.html", {
        "form": form, "lines": priced, "total": total,
        "refund": orders.refund_of(priced, currency), "line": first,
        "currency": currency, "plan": first.plan, "esim": first.esim,
        "starts_at": window[0], "ends_at": window[1],
        "keep_params": [(k, v) for k, v in (("plan", plan), ("iccid", iccid),
                                            ("product", product), ("change", change),
                                            ("starts", starts)) if v],
        "starts_links": _starts_links(first, plan, iccid, currency),
    }, status=400 if form.errors else 200)


def _starts_links(line: PricedLine, plan: str, iccid: str,
                  currency: str) -> list[dict[str, Any]]:
    """A renewal's two ways to start, as links to the same checkout (no script needed)."""
    if not line.can_start_when_data_runs_out:
        return []
    base = reverse("portal:checkout")
    choices = ((STARTS_AT_PERIOD_END, _("When my current plan ends")),
               (STARTS_WHEN_DATA_RUNS_OUT, _("When my data runs out")))
    return [{"text": text, "current": (value == STARTS_WHEN_DATA_RUNS_OUT) == line.low_data,
             "url": base + "?" + urlencode({"plan": plan, "iccid": iccid,
                                            "currency": currency, "starts": value})}
            for value, text in choices]


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    rows = [(order, payments.latest_payment(order))
            for order in order_queries.orders_of(request.user)]
    return render(request, "portal/orders.html", {"rows": rows})


@login_required
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = _own_order(request, number)
    payment = payments.latest_payment(order)
    waiting = (order.status == Order.Status.AWAITING_PAYMENT and payment is not None
               and payment.status == Payment.Status.PENDING)
    qr = (qr_svg_of(payment.next_action["data"])
          if waiting and payment and payment.next_action.get("type") == "qr" else "")
    refunds = [r for p in order.payments.all() for r in p.refunds.all()]
    lines = list(order.lines.all())
    blocker = refund_policy.ineligibility(order)
    return render(request, "portal/order.html", {
        "order": order, "payment": payment, "lines": lines,
        "esim_links": esim_links(lines),
        "refund_note": (kinds.kind_for(lines[0].type).refund_note(lines[0])
                        if blocker is None and lines else ""),
        "preparing": order.status == Order.Status.PAID, "waiting_qr": qr,
        "can_pay": order.status == Order.Status.AWAITING_PAYMENT,
        "pay_form": PayAgainForm(currency=order.currency),
        "attempts": sorted(order.payments.all(), key=lambda p: (p.created_at, p.pk)),
        "refunds": sorted(refunds, key=lambda r: (r.created_at, r.pk)),
        "refund_blocker": blocker,
        "activation": _activation_rows(order),
    })


def esim_links(lines: list[OrderLine]) -> list[dict[str, Any]]:
    """The fulfilled order's main actions, one per eSIM: *Install your eSIM* while it is not
    installed, else *View eSIM* and *Renew*."""
    links: list[dict[str, Any]] = []
    seen: set[int] = set()
    for line in lines:
        esim = line.esim
        if esim is None or esim.pk in seen:
            continue
        seen.add(esim.pk)
        page = reverse("portal:esim", args=[esim.iccid])
        if esim.status == Esim.Status.READY:
            links.append({"url": f"{page}#install", "text": _("Install your eSIM"),
                          "primary": True})
            continue
        links.append({"url": page, "text": _("View eSIM"), "primary": True})
        if esim.status != Esim.Status.REVOKED:
            links.append({"url": reverse("portal:esim_renew", args=[esim.iccid]),
                          "text": _("Renew"), "primary": False})
    return links


STEP_TEXT = {
    "preparing": gettext_lazy("Preparing your eSIM"),
    "ready": gettext_lazy("Ready to install"),
    "installed": gettext_lazy("Installed"),
    "active": gettext_lazy("Active"),
    "attention": gettext_lazy("Delayed: our support team is on it"),
    "suspended": gettext_lazy("Suspended"),
    "revoked": gettext_lazy("Replaced or revoked"),
}


def _activation_rows(order: Order) -> list[dict[str, Any]]:
    rows = []
    for row in order_queries.activation_of(order):
        reached = (order_queries.ACTIVATION_STEPS.index(row["step"])
                   if row["step"] in order_queries.ACTIVATION_STEPS else -1)
        rows.append({**row, "text": str(STEP_TEXT[row["step"]]),
                     "install_url": (reverse("portal:esim", args=[row["iccid"]])
                                     if row["iccid"] else ""),
                     "steps": [{"name": name, "text": str(STEP_TEXT[name]),
                                "done": index <= reached}
                               for index, name in enumerate(order_queries.ACTIVATION_STEPS)]})
    return rows


@login_required
def order_activation(request: HttpRequest, number: str) -> JsonResponse:
    """What the order page's script polls while the eSIM is being made: the order status
    and each new eSIM's step, in the customer's language."""
    order = _own_order(request, number)
    response = JsonResponse({"order": order.number, "status": order.status,
                             "lines": _activation_rows(order)})
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def pay_again(request: HttpRequest, number: str) -> HttpResponse:
    order = _own_order(request, number)
    form = PayAgainForm(request.POST, currency=order.currency)
    if not form.is_valid():
        messages.error(request, _("Choose a payment method."))
        return redirect("portal:order", number=number)
    try:
        payment = placing.pay_order(user=request.user, order=order,
                                     method=form.cleaned_data["provider"],
                                     device=_device(request),  # type: ignore[arg-type]
                                     save_method=form.cleaned_data["save_method"],
                                     payer_ip=client_ip(request))
    except DomainError as error:
        flash_error(request, error)
        return redirect("portal:order", number=number)
    return after_payment_started(payment)


@require_POST
@login_required
def request_refund(request: HttpRequest, number: str) -> HttpResponse:
    order = _own_order(request, number)
    try:
        refund_policy.request_customer_refund(user=request.user, order=order)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, _("Your refund is on its way. We will e-mail you the credit "
                                    "note."))
    return redirect("portal:order", number=number)


@login_required
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    order = _own_order(request, number)
    if not hasattr(order, "receipt"):
        raise Http404(_("The receipt is issued once the order is complete."))
    response = HttpResponse(render_receipt_pdf(order), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(order)}"'
    return response


@login_required
def credit_note(request: HttpRequest, number: str, refund_id: str) -> HttpResponse:
    order = _own_order(request, number)
    refund = Refund.objects.filter(payment__order=order, public_id=refund_id,
                                   status=Refund.Status.SUCCEEDED).first()
    if refund is None:
        raise Http404
    response = HttpResponse(render_credit_note_pdf(refund), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{credit_note_filename(refund)}"'
    return response
