"""Actions from the customer console, one POST each: resend the install e-mail, retry an
activation, reissue a profile, extend a plan as goodwill, suspend or resume an eSIM, cancel
one never installed (here and at its supplier), unlock the account. (Refunds have their own
page, ``staff_refund``, for the finance role.)

Every action needs its permission (403 otherwise; the page shows no button for it) and a
reason, and goes through the service that owns the change, which writes the audit row with
who and why. A refusal renders the customer page again with its 4xx status, code and
message; a success redirects back to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.accounts import lockout
from esimdesk.accounts.models import User
from esimdesk.core import audit
from esimdesk.core.errors import MESSAGES, Conflict, DomainError, ValidationFailed
from esimdesk.esims import suspension, upstream_revoke
from esimdesk.esims.models import Esim
from esimdesk.orders import install_email
from esimdesk.orders import reissue as reissues
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.staff import roles
from esimdesk.staff.customers import render_customer
from esimdesk.subscriptions import goodwill

Handler = Callable[[HttpRequest, Any, str, str], str]


def _esim(request: HttpRequest, customer: Any) -> Esim:
    """The eSIM named in the form, if it is this customer's (404 otherwise)."""
    return get_object_or_404(Esim, iccid=(request.POST.get("iccid") or "").strip(),
                             owner=customer)


def _order(request: HttpRequest, customer: Any) -> Order:
    return get_object_or_404(Order, number=(request.POST.get("order") or "").strip(),
                             user=customer)


def _resend_email(request: HttpRequest, customer: Any, actor: str, reason: str) -> str:
    order = _order(request, customer)
    install_email.resend_install_email(order_id=order.pk, actor=actor, reason=reason)
    return _("The install e-mail of %(order)s is on its way to %(email)s.") % {
        "order": order.number, "email": customer.email}


def _retry(request: HttpRequest, customer: Any, actor: str, reason: str) -> str:
    order = _order(request, customer)
    if not orders.retry_fulfilment(order_ids=[order.pk], actor=actor, reason=reason):
        raise Conflict(code="order_not_retryable", detail={"status": order.status})
    return _("Activation of %(number)s queued again.") % {"number": order.number}


def _reissue(request: HttpRequest, customer: Any, actor: str, reason: str) -> str:
    esim = _esim(request, customer)
    reissues.request_reissue(esim_id=esim.pk, actor=actor, reason=reason)
    return _("A new profile for %(iccid)s is being prepared; the customer will get the "
             "install e-mail.") % {"iccid": esim.iccid}


def _extend(request: HttpRequest, customer: Any, actor: str, reason: str) -> str:
    esim = _esim(request, customer)
    try:
        days = int((request.POST.get("days") or "").strip())
    except ValueError:
        raise ValidationFailed(code="invalid_days") from None
    period = goodwill.extend_running_period(
        esim_id=esim.pk, days=days, max_days=roles.goodwill_limit_days(request.user),
        actor=actor, reason=reason)
    if period.ends_at is None:
        return _("%(iccid)s: the plan has not started yet; it will run %(days)s days longer "
                 "once it starts.") % {"iccid": esim.iccid, "days": period.extra_days}
    return _("%(iccid)s: the plan now runs until %(end)s UTC.") % {
        "iccid": esim.iccid, "end": period.ends_at.strftime("%Y-%m-%d %H:%M")}


def _suspend(request: HttpRequest, customer: Any, actor: str, reason: str) -> str:
    esim = _esim(request, customer)
    suspension.suspend(esim_id=esim.pk, actor=actor, reason=reason)
    return _("%(iccid)s is suspended.") % {"iccid": esim.iccid}


def _resume(request: HttpRequest, customer: Any, actor: str, reason: str) -> str:
    esim = _esim(request, customer)
    suspension.resume(esim_id=esim.pk, actor=actor, reason=reason)
    return _("%(iccid)s works again.") % {"iccid": esim.iccid}


def _cancel(request: HttpRequest, customer: Any, actor: str, reason: str) -> str:
    esim = _esim(request, customer)
    upstream_revoke.revoke_before_install(esim_id=esim.pk, actor=actor, reason=reason)
    return _("%(iccid)s is cancelled; its supplier is being told to cancel the profile.") % {
        "iccid": esim.iccid}


def _unlock(request: HttpRequest, customer: Any, actor: str, reason: str) -> str:
    lockout.unlock(user=customer, actor=actor, reason=reason)
    return _("%(customer)s can sign in again.") % {"customer": customer}


#: action name -> (permission, handler)
ACTIONS: dict[str, tuple[str, Handler]] = {
    "resend_email": ("staff.resend_install_email", _resend_email),
    "retry": ("orders.change_order", _retry),
    "reissue": ("esims.reissue_esim", _reissue),
    "extend": ("staff.extend_validity", _extend),
    "suspend": ("staff.suspend_esim", _suspend),
    "resume": ("staff.suspend_esim", _resume),
    "cancel": ("staff.suspend_esim", _cancel),
    "unlock": ("staff.unlock_account", _unlock),
}


@require_POST
@staff_member_required
def customer_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    permission, handler = ACTIONS[action]
    if not request.user.has_perm(permission):
        raise PermissionDenied
    customer = get_object_or_404(User, pk=user_id)
    reason = " ".join((request.POST.get("reason") or "").split())
    try:
        if not reason:
            raise ValidationFailed(MESSAGES["reason_required"], code="reason_required")
        done = handler(request, customer, audit.actor_of(request.user)[1], reason)
    except DomainError as error:
        return render_customer(request, customer, status=error.status,
                               error=str(error.message), error_code=error.code)
    messages.success(request, done)
    return redirect("staff_customer", user_id=customer.pk)
