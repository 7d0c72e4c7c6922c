"""Buying a new eSIM as a guest, with only an e-mail address, and setting a first password
from the link in the receipt (docs/accounts.md, "Buying without an account")."""

from __future__ import annotations

from allauth.account.utils import perform_login
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk.accounts import next_url, signin_policy
from esimdesk.accounts import services as accounts
from esimdesk.accounts.set_password import user_for
from esimdesk.core.errors import DomainError
from esimdesk.core.http import client_ip
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.orders.services import LineRequest
from esimdesk.payments import checkout as placing
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment
from esimdesk.portal.forms import FirstPasswordForm, GuestCheckoutForm
from esimdesk.portal.kept_plan import guest_checkout_url
from esimdesk.portal.views.common import current_currency

#: the orders this browser placed as a guest (their numbers), newest last
SESSION_KEY = "esimdesk_guest_orders"
KEPT_ORDERS = 10


def guest_orders(request: HttpRequest) -> list[str]:
    return list(request.session.get(SESSION_KEY, []))


def _remember(request: HttpRequest, number: str) -> None:
    request.session[SESSION_KEY] = [*guest_orders(request), number][-KEPT_ORDERS:]


def guest_checkout(request: HttpRequest) -> HttpResponse:
    """A new eSIM for someone who is not signed in: the plan's price, an e-mail address and
    a payment method. The order is placed and paid exactly as a signed-in traveller's."""
    source = request.POST if request.method == "POST" else request.GET
    plan = source.get("plan", "")
    currency = (source.get("currency") or current_currency(request)).upper()
    checkout_path = f"{reverse('portal:checkout')}?plan={plan}&currency={currency}"
    if request.user.is_authenticated:
        return redirect(next_url.safe_next(request, checkout_path) or "portal:home")
    form = GuestCheckoutForm(request.POST or None, currency=currency,
                             initial={"plan": plan, "currency": currency})
    line = LineRequest(type="new_esim", plan=plan)
    try:
        priced = orders.price_lines(user=None, lines=[line], currency=currency)
    except DomainError as error:
        return render(request, "portal/guest_checkout.html",
                      {"error": error.message, "currency": currency}, status=400)
    total = orders.total_of(priced, currency)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            # As many as sign-ups from one client address, and as many as reset links to one
            # address: the receipt carries a set-password link (accounts.signin_policy).
            signin_policy.consume_once(request, "signup", account=None)
            signin_policy.consume_once(request, "reset",
                                       account=signin_policy.normalize_account(email))
            user = accounts.account_for_guest(email=email,
                                              language=_language_of(request))
            placed = placing.place_order(
                user=user, lines=[line], currency=currency,
                method=form.cleaned_data["provider"] or "",
                device=payments.device_from_user_agent(  # type: ignore[arg-type]
                    request.META.get("HTTP_USER_AGENT", "")),
                save_method=False, payer_ip=client_ip(request),
                expected_total=form.cleaned_data["expected_total"])
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            _remember(request, placed.order.number)
            action = (placed.payment.next_action or {}) if placed.payment else {}
            if action.get("type") == "redirect" and action.get("url"):
                return redirect(action["url"])
            return redirect("portal:guest_order", number=placed.order.number)
    return render(request, "portal/guest_checkout.html", {
        "form": form, "line": priced[0], "total": total, "currency": currency,
        "plan": priced[0].plan, "sign_in_url": next_url.login_url(checkout_path),
        "keep_params": [("plan", plan)],
    }, status=400 if form.errors else 200)


def _language_of(request: HttpRequest) -> str:
    return "zh-hans" if (translation.get_language() or "").startswith("zh") else "en"


def guest_order(request: HttpRequest, number: str) -> HttpResponse:
    """What a guest sees of their order: its state, and that the receipt and the install
    details went to the address they gave — the same whether that address had an account."""
    if number not in guest_orders(request):
        raise Http404
    order = Order.objects.filter(number=number).select_related("user").first()
    if order is None:
        raise Http404
    if request.user.is_authenticated and request.user.pk == order.user_id:
        return redirect("portal:order", number=number)
    payment = payments.latest_payment(order)
    line = order.lines.select_related("plan").first()
    failed = (order.status == Order.Status.AWAITING_PAYMENT and payment is not None
              and payment.status in (Payment.Status.DECLINED, Payment.Status.FAILED,
                                 Payment.Status.CANCELLED))
    return render(request, "portal/guest_order.html", {
        "order": order, "payment": payment, "line": line, "failed": failed,
        "done": order.status in (Order.Status.PAID, Order.Status.FULFILLED),
        "fulfilled": order.status == Order.Status.FULFILLED,
        "email": order.user.email,
        "again_url": (guest_checkout_url(line.plan.code, order.currency)
                      if line is not None and line.plan is not None else ""),
    })


def set_password(request: HttpRequest, uidb36: str, token: str) -> HttpResponse:
    """The link in a guest's receipt: choose a password, then be signed in. It works once."""
    user = user_for(uidb36, token)
    if user is None:
        return render(request, "portal/set_password.html", {"invalid": True}, status=400)
    form = FirstPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.set_first_password(user=user,
                                               password=form.cleaned_data["password1"])
        except DomainError as refusal:
            form.add_error("password1", str(refusal.message))
        else:
            messages.success(request, _("Your password is set. Welcome!"))
            return perform_login(request, user, email=user.email,  # type: ignore[no-any-return]
                                 redirect_url=reverse("portal:dashboard"))
    return render(request, "portal/set_password.html", {"account": user, "form": form},
                  status=400 if form.errors else 200)
