"""Renew or top up in one tap: one confirmation page (what, price, the saved method, "Pay
now") that charges the traveller's saved method off-session through the place-order use case
(``payments.checkout``, ``saved_method``). When the provider wants the payer (3-D Secure, a
declined card) the answer is the provider's page for the same order.

Exactly once: the form carries what the page showed (item, currency, method, total) and the
latest order the traveller had when it was shown; the Idempotency-Key is made of them. A
double click, a reload or a second tab of the same page therefore sends the same key and is
answered with the first answer, never a second charge; once paid, the page shown afresh
has a new key (the traveller's latest order changed), so a second top-up is one more tap.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from esimdesk.catalog import queries as catalog
from esimdesk.core.api.errors import domain_error_body
from esimdesk.core.errors import DomainError, NotFound
from esimdesk.core.http import client_ip
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.orders import services as orders
from esimdesk.orders.lines import LineRequest
from esimdesk.orders.models import Order
from esimdesk.payments import checkout, saved_methods
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment
from esimdesk.portal.views.common import current_currency, to_the_pool
from esimdesk.subscriptions import changes
from esimdesk.subscriptions.queries import preview_window, service_for

KINDS = ("renewal", "top_up")


def _own(request: HttpRequest, iccid: str) -> Esim:
    try:
        return esims.get_for_owner(user=request.user, iccid=iccid)
    except NotFound as error:
        raise Http404(str(error.message)) from error


def _default_code(esim: Esim, kind: str, currency: str) -> str:
    """Renew with the plan the eSIM runs last; top up with the first top-up offered in
    ``currency``."""
    subscription = getattr(esim, "subscription", None)
    if subscription is None:
        return ""
    if kind == "renewal":
        latest = subscription.periods.exclude(state="cancelled").order_by("-sequence").first()
        return (latest.plan if latest is not None else subscription.plan).code
    period = changes.running_period(subscription)
    offers = catalog.top_ups_for(period.plan) if period is not None else []
    return next((p.code for p in offers if p.price_in(currency) is not None), "")


def _line(kind: str, iccid: str, code: str) -> LineRequest:
    if kind == "top_up":
        return LineRequest(type="top_up", iccid=iccid, product=code)
    return LineRequest(type="renewal", iccid=iccid, plan=code)


def _choice_page(kind: str, iccid: str) -> str:
    return reverse("portal:esim_top_up" if kind == "top_up" else "portal:esim_renew",
                   args=[iccid])


def _checkout_page(kind: str, iccid: str, code: str, currency: str) -> str:
    item = {"product": code} if kind == "top_up" else {"plan": code}
    return reverse("portal:checkout") + "?" + urlencode(
        {**item, "iccid": iccid, "currency": currency})


def _latest_order(user: Any) -> int:
    return Order.objects.filter(user=user).order_by("-pk").values_list("pk", flat=True).first() \
        or 0


@login_required
def one_tap(request: HttpRequest, iccid: str, kind: str) -> HttpResponse:
    if kind not in KINDS:
        raise Http404
    esim = _own(request, iccid)
    if (pooled := to_the_pool(request, esim)) is not None:
        return pooled
    source = request.POST if request.method == "POST" else request.GET
    currency = (source.get("currency") or current_currency(request)).upper()
    code = source.get("code") or _default_code(esim, kind, currency)
    method = saved_methods.one_tap_method(request.user, currency)
    if method is None or not code:
        return redirect(_choice_page(kind, esim.iccid))  # nothing to pay in one tap with
    line = _line(kind, esim.iccid, code)
    try:
        [priced] = orders.price_lines(user=request.user, lines=[line], currency=currency)
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(_choice_page(kind, esim.iccid))
    total = orders.total_of([priced], currency)
    if request.method == "POST":
        return _pay(request, esim=esim, kind=kind, line=line, currency=currency,
                    code=code)
    window = ((priced.starts_at, priced.ends_at) if priced.starts_at and priced.ends_at
              else preview_window(priced.plan, priced.esim))
    return render(request, "portal/one_tap.html", {
        "esim": esim, "service": service_for([esim])[esim.pk], "kind": kind, "code": code,
        "line": priced, "plan": priced.plan, "product": priced.product, "total": total,
        "currency": currency, "method": method, "seen": _latest_order(request.user),
        "starts_at": window[0], "ends_at": window[1],
        "heading": _("Top up") if kind == "top_up" else _("Renew"),
        "item_label": _("Top-up") if kind == "top_up" else _("Plan"),
        "item_name": priced.product.name if priced.product is not None else priced.plan.name,
        "choose_text": _("Choose another top-up") if kind == "top_up"
        else _("Choose another plan"),
        "choose_url": _choice_page(kind, esim.iccid),
        "checkout_url": _checkout_page(kind, esim.iccid, code, currency),
    })


def _pay(request: HttpRequest, *, esim: Esim, kind: str, line: LineRequest, currency: str,
         code: str) -> HttpResponse:
    back = reverse(f"portal:esim_{'top_up' if kind == 'top_up' else 'renew'}_confirm",
                   args=[esim.iccid]) + "?" + urlencode({"code": code, "currency": currency})
    try:
        method_id = int(request.POST.get("method", ""))
        expected = int(request.POST.get("expected_total", ""))
        seen = int(request.POST.get("seen", "0"))
    except ValueError:
        messages.error(request, _("This page is out of date. Please check it and try again."))
        return redirect(back)
    key = hashlib.sha256(
        f"{kind}\0{esim.iccid}\0{code}\0{currency}\0{method_id}\0{expected}\0{seen}".encode()
    ).hexdigest()
    once = checkout.Once(
        scope=f"user:{request.user.pk}:portal.one_tap", key=key, fingerprint=key,
        render=lambda placed: (201, {"order": placed.order.number,
                                     "payment": placed.payment.public_id
                                     if placed.payment is not None else None}),
        refuse=lambda error: (error.status, domain_error_body(error)))
    try:
        stored = checkout.place_order_once(
            once=once, user=request.user, lines=[line], currency=currency, method="",
            saved_method=method_id, expected_total=expected, payer_ip=client_ip(request),
            device=payments.device_from_user_agent(  # type: ignore[arg-type]
                request.META.get("HTTP_USER_AGENT", "")))
    except DomainError as error:  # e.g. the same page still being paid in another tab
        messages.error(request, str(error.message))
        return redirect(back)
    if stored.status != 201:
        messages.error(request, str(stored.body.get("message") or _("Something went wrong.")))
        return redirect(back)
    number = stored.body["order"]
    payment = Payment.objects.filter(public_id=stored.body["payment"] or "",
                                     order__user=request.user).first()
    if payment is None:  # settled without paying (nothing was due)
        messages.success(request, _("Done: no payment was needed."))
        return redirect("portal:order", number=number)
    if payment.status == Payment.Status.SUCCEEDED:
        messages.success(request, _("Paid with %(method)s. Thank you!")
                         % {"method": payment.method})
        return redirect("portal:order", number=number)
    action = payment.next_action or {}
    if payment.status == Payment.Status.PENDING and action.get("type") == "redirect":
        return redirect(action["url"])  # the bank wants the payer: the provider's page
    if payment.status == Payment.Status.DECLINED:
        messages.error(request, _("Your saved card was declined: %(reason)s Choose another "
                                  "way to pay below.") % {"reason": payment.failure_message})
    return redirect("portal:order", number=number)
