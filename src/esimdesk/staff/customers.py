"""The customer console: find a customer by e-mail, phone, ICCID or order number, and see
everything about them on one page — eSIMs with status and what is left, current and queued
periods, recent orders, payments and messages, and the history of their eSIMs and orders —
with the actions staff may take (``staff.actions``).

``customer_context`` is the read behind the page and behind the support inbox's side panel
(template ``staff/_customer_context.html``). It runs a fixed number of queries, however many
eSIMs, periods, orders or messages the customer has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.db.models import CharField, Count, Max, Q
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _

from esimdesk.accounts import lockout
from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.admin_base import console_page
from esimdesk.core.ids import is_valid_iccid, normalize_iccid
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.notifications.models import Notification
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment
from esimdesk.staff import roles
from esimdesk.subscriptions.queries import EsimService, service_for

RECENT_ORDERS = 10
RECENT_PAYMENTS = 10
RECENT_NOTIFICATIONS = 20
HISTORY = 50
SEARCH_LIMIT = 50
#: how many of the newest customers the page lists before anything is searched
RECENT_LIMIT = 25


@dataclass
class EsimRow:
    esim: Esim
    service: EsimService


@dataclass
class CustomerContext:
    customer: Any
    now: dt.datetime
    esims: list[EsimRow] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    history: list[AuditEntry] = field(default_factory=list)
    locks: list[str] = field(default_factory=list)


def customer_context(*, customer: Any, request: HttpRequest | None = None,
                     now: dt.datetime | None = None) -> CustomerContext:
    """Everything staff need to see about ``customer``, in a fixed number of queries."""
    instant = now or clock.now()
    # With what the supplier said about a revoked one's profile (esims.upstream_revoke).
    esims = list(Esim.objects.filter(owner=customer).select_related("upstream_revoke")
                 .order_by("-created_at", "-id"))
    services = service_for(esims, now=instant)
    # With their lines: the install e-mail is offered only for an order that made an eSIM.
    orders = list(Order.objects.filter(user=customer).prefetch_related("lines")
                  .order_by("-created_at", "-id")[:RECENT_ORDERS])
    payments = list(Payment.objects.filter(order__user=customer).select_related("order")
                    .order_by("-created_at", "-id")[:RECENT_PAYMENTS])
    # Bodies and attachments (a PDF receipt) are large and not shown here.
    notifications = list(Notification.objects.filter(user=customer)
                         .defer("body_text", "body_html", "attachments")
                         .order_by("-created_at", "-id")[:RECENT_NOTIFICATIONS])
    period_ids = [view.id for service in services.values()
                  for view in ([service.current_or_pending] if service.current_or_pending
                               else []) + service.queued
                  + ([service.last_ended] if service.last_ended else [])]
    order_ids = (Order.objects.filter(user=customer)
                 .annotate(key=Cast("pk", CharField())).values("key"))
    history = list(AuditEntry.objects.filter(
        Q(object_type="esim", object_id__in=[str(e.pk) for e in esims])
        | Q(object_type="order", object_id__in=order_ids)
        | Q(object_type="period", object_id__in=[str(pk) for pk in period_ids])
        | Q(object_type="user", object_id=str(customer.pk))
    ).order_by("-at", "-id")[:HISTORY])
    return CustomerContext(
        customer=customer, now=instant,
        esims=[EsimRow(esim, services[esim.pk]) for esim in esims],
        orders=orders, payments=payments, notifications=notifications, history=history,
        locks=lockout.locks_of(customer))


def search(query: str) -> list[Any]:
    """Customers matching an e-mail address (or part of it), a phone number, an ICCID or an
    order number."""
    text = query.strip()
    if not text:
        return []
    match = Q(email__icontains=text) | Q(orders__number=text.upper())
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if len(digits.lstrip("+")) >= 5:
        match |= Q(phone__contains=digits)
    if is_valid_iccid(text):
        match |= Q(esims__iccid=normalize_iccid(text))
    return list(User.objects.filter(match).distinct().order_by("email", "pk")[:SEARCH_LIMIT])


def recent(limit: int = RECENT_LIMIT) -> list[Any]:
    """The newest customers (staff left out), each with how many orders they placed and
    when the last one was: what the page shows before anything is searched."""
    return list(User.objects.filter(is_staff=False)
                .annotate(order_count=Count("orders"), last_order_at=Max("orders__created_at"))
                .order_by("-date_joined", "-pk")[:limit])


@staff_member_required
@permission_required("staff.view_customer_console", raise_exception=True)
def customer_search(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()
    found = search(query) if query else recent()
    if query and len(found) == 1:
        return redirect("staff_customer", user_id=found[0].pk)
    return console_page(request, "staff/customers.html", {
        "title": _("Customers"), "query": query, "found": found})


@staff_member_required
@permission_required("staff.view_customer_console", raise_exception=True)
def customer_page(request: HttpRequest, user_id: int) -> HttpResponse:
    customer = get_object_or_404(User, pk=user_id)
    return render_customer(request, customer)


def render_customer(request: HttpRequest, customer: Any, *, status: int = 200,
                    error: str = "", error_code: str = "") -> HttpResponse:
    """The customer page; an action that was refused renders it with its 4xx and message."""
    return console_page(request, "staff/customer.html", {
        "title": _("Customer %(name)s") % {"name": customer},
        "ctx": customer_context(customer=customer, request=request),
        "may": roles.permissions_for(request.user),
        "error": error, "error_code": error_code,
    }, status=status)
