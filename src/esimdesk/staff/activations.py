"""The activation screen: orders whose eSIM is late or failed, profiles that were never
installed, and what staff can do about them — retry, reissue, refund. Every action needs its
permission and a reason, and leaves an audit row with who and why."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.core import clock
from esimdesk.core.admin_base import console_page
from esimdesk.core.errors import DomainError
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim, Reissue
from esimdesk.orders import reissue as reissues
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment

NOT_INSTALLED_AFTER = dt.timedelta(hours=24)
LIST_LIMIT = 100


def _actor(request: HttpRequest) -> str:
    return getattr(request.user, "email", "") or str(request.user.pk)


@staff_member_required
@permission_required("orders.view_order", raise_exception=True)
def activation_list(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()
    if query:
        esim = Esim.objects.filter(iccid=query.rstrip("Ff")).first()
        order = Order.objects.filter(number=query).first()
        if order is None and esim is not None:
            order = Order.objects.filter(lines__esim=esim).order_by("created_at").first()
        if order is not None:
            return redirect("staff_activation_order", number=order.number)
        messages.error(request, _("No order or eSIM matches %(query)s.") % {"query": query})
    now = clock.now()
    failed = (Order.objects.filter(status=Order.Status.FULFILMENT_FAILED)
              .select_related("user").order_by("paid_at")[:LIST_LIMIT])
    preparing = (Order.objects.filter(status=Order.Status.PAID)
                 .select_related("user").order_by("paid_at")[:LIST_LIMIT])
    not_installed = (Esim.objects.filter(status=Esim.Status.READY,
                                         created_at__lt=now - NOT_INSTALLED_AFTER)
                     .select_related("owner").order_by("created_at")[:LIST_LIMIT])
    recent = Reissue.objects.select_related("old_esim", "new_esim")[:20]
    return console_page(request, "staff/activations.html", {
        "title": _("Activations"), "failed": failed, "preparing": preparing,
        "not_installed": not_installed, "reissues": recent, "now": now, "query": query})


@staff_member_required
@permission_required("orders.view_order", raise_exception=True)
def activation_order(request: HttpRequest, number: str) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("user"), number=number)
    lines = list(order.lines.select_related("plan", "esim"))
    esim_ids = [line.esim_id for line in lines if line.esim_id]
    reissued = list(Reissue.objects.filter(old_esim_id__in=esim_ids)
                    .select_related("old_esim", "new_esim"))
    esim_ids += [r.new_esim_id for r in reissued if r.new_esim_id]
    history = AuditEntry.objects.filter(
        Q(object_type="order", object_id=str(order.pk))
        | Q(object_type="orderline", object_id__in=[str(line.pk) for line in lines])
        | Q(object_type="esim", object_id__in=[str(pk) for pk in esim_ids])
    ).order_by("at", "pk")
    payments = [p for p in order.payments.all() if p.status == Payment.Status.SUCCEEDED]
    return console_page(request, "staff/activation_order.html", {
        "title": _("Activation of order %(number)s") % {"number": order.number},
        "order": order, "lines": lines, "history": history, "reissues": reissued,
        "esims": Esim.objects.filter(pk__in=esim_ids).order_by("created_at"),
        "reissuable": reissues.REISSUABLE, "payments": payments,
        "can_retry": order.status in (Order.Status.PAID, Order.Status.FULFILMENT_FAILED),
        "may_retry": request.user.has_perm("orders.change_order"),
        "may_reissue": request.user.has_perm("esims.reissue_esim"),
        "may_refund": request.user.has_perm("payments.add_refund"),
    })


@require_POST
@staff_member_required
def retry_activation(request: HttpRequest, number: str) -> HttpResponse:
    if not request.user.has_perm("orders.change_order"):
        raise PermissionDenied
    order = get_object_or_404(Order, number=number)
    reason = " ".join((request.POST.get("reason") or "").split())
    if not reason:
        messages.error(request, _("Say why: the reason is kept in the audit log."))
    elif orders.retry_fulfilment(order_ids=[order.pk], actor=_actor(request), reason=reason):
        messages.success(request, _("Activation of %(number)s queued again.")
                         % {"number": number})
    else:
        messages.error(request, _("This order is not waiting for activation."))
    return redirect("staff_activation_order", number=number)


@require_POST
@staff_member_required
def reissue_esim(request: HttpRequest, iccid: str) -> HttpResponse:
    if not request.user.has_perm("esims.reissue_esim"):
        raise PermissionDenied
    esim = get_object_or_404(Esim, iccid=iccid)
    back = request.POST.get("order") or ""
    try:
        reissues.request_reissue(esim_id=esim.pk, actor=_actor(request),
                                 reason=request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("A new profile for %(iccid)s is being prepared; the "
                                    "customer will get the install e-mail.") % {"iccid": iccid})
    if Order.objects.filter(number=back).exists():
        return redirect("staff_activation_order", number=back)
    return redirect("staff_activations")
