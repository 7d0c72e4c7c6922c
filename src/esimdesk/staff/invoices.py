"""Organisations' monthly invoices for finance: what was issued, what is due or overdue,
and recording a transfer (``sharedplans.invoicing.mark_paid``, audited with the reference)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.core import clock
from esimdesk.core.admin_base import console_page
from esimdesk.core.errors import DomainError, NotFound
from esimdesk.sharedplans import invoicing
from esimdesk.sharedplans.invoice_pdf import invoice_filename, render_invoice_pdf
from esimdesk.sharedplans.models import MonthlyInvoice

OVERDUE = "overdue"
#: Time filters the Money page links with (ISO 8601 instants, half-open windows).
TIME_FILTERS = ("issued_at__gte", "issued_at__lt", "paid_at__gte", "paid_at__lt")


def _times(request: HttpRequest) -> dict[str, dt.datetime]:
    """The time filters given, each kept only when it is an aware ISO 8601 instant."""
    found = {}
    for name in TIME_FILTERS:
        try:
            value = parse_datetime(request.GET.get(name, ""))
        except ValueError:
            value = None
        if value is not None and value.tzinfo is not None:
            found[name] = value
    return found


@staff_member_required
@permission_required("sharedplans.view_monthlyinvoice", raise_exception=True)
def invoice_list(request: HttpRequest) -> HttpResponse:
    """Every invoice, newest first; ``?status=issued|paid|overdue`` (overdue: issued, unpaid
    and past due now) and the time filters of ``TIME_FILTERS``."""
    status = request.GET.get("status", "")
    now = clock.now()
    rows = MonthlyInvoice.objects.select_related("group")
    if status in MonthlyInvoice.Status.values:
        rows = rows.filter(status=status)
    elif status == OVERDUE:
        rows = rows.filter(status=MonthlyInvoice.Status.ISSUED, due_at__lt=now)
    times = _times(request)
    rows = rows.filter(**times)
    return console_page(request, "staff/invoices.html", {
        "title": _("Monthly invoices"),
        "rows": rows[:300], "status": status, "now": now, "filtered_by_time": bool(times),
        "may_mark_paid": request.user.has_perm("sharedplans.change_monthlyinvoice")})


@staff_member_required
@permission_required("sharedplans.view_monthlyinvoice", raise_exception=True)
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(MonthlyInvoice.objects.select_related("group"), pk=pk)
    pdf = render_invoice_pdf(group=invoice.group, month=invoice.month, invoice=invoice)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{invoice_filename(invoice.group, invoice.month)}"')
    return response


@require_POST
@staff_member_required
@permission_required("sharedplans.change_monthlyinvoice", raise_exception=True)
def invoice_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(MonthlyInvoice, pk=pk)  # a missing invoice is a 404, reason or not
    try:
        invoice = invoicing.mark_paid(invoice_id=pk, by=request.user,
                                      reference=request.POST.get("reference", ""))
    except NotFound as error:
        raise Http404 from error
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("%(number)s recorded as paid.") % {"number": invoice.number})
    return redirect("staff_invoices")
