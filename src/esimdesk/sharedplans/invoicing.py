"""Organisations billed by monthly invoice: group orders placed "on account" instead of
paid at checkout, then one invoice per month.

- ``InvoiceMethod`` (the payment method ``invoice``): a manager of an organisation whose
  billing staff switched to invoices orders seats, renewals or top-ups with it: checkout
  marks the order paid on account at once and it is fulfilled like any paid order (audited).
- Automatic renewal of such a pool goes on account too (``sharedplans.plans``), no card needed.
- ``issue_invoices`` (the ``invoices`` sweep): after a month ends, one ``MonthlyInvoice``
  per organisation and currency with the month's on-account orders, numbered, due
  ``ESIMDESK_INVOICE_DUE_DAYS`` later, and e-mailed to the owner as a PDF in their language
  (the document lists every seat with the member, cost centre and data used). Idempotent.
- ``mark_paid``: finance records the transfer (permission ``sharedplans.change_monthlyinvoice``).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.translation import gettext as _

from esimdesk import config
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from esimdesk.groups.models import Group
from esimdesk.groups.services import manager_of
from esimdesk.notifications import services as notifications
from esimdesk.orders import services as orders
from esimdesk.orders.lines import LineRequest
from esimdesk.orders.models import Order
from esimdesk.sharedplans.invoice_pdf import invoice_filename, month_bounds, render_invoice_pdf
from esimdesk.sharedplans.models import MonthlyInvoice

ON_ACCOUNT = "invoice"


def _month_start(instant: dt.datetime) -> dt.date:
    return instant.astimezone(dt.UTC).date().replace(day=1)


def billed_by_invoice(group: Group) -> bool:
    return group.kind == Group.Kind.ENTERPRISE and group.billing == Group.Billing.INVOICE


class InvoiceMethod:
    """The payment method ``invoice``: an organisation's order settled on its account and
    billed with the month's invoice (registered with checkout's settling methods)."""

    name = ON_ACCOUNT

    def check(self, *, user: Any, lines: list[LineRequest]) -> None:
        self._group(user=user, lines=lines)

    def settle(self, *, user: Any, order: Order, lines: list[LineRequest]) -> Order:
        group = self._group(user=user, lines=lines)
        return settle_on_account(order=order, group=group, actor=f"{user.pk}:{user}")

    @staticmethod
    def _group(*, user: Any, lines: list[LineRequest]) -> Group:
        group_ids = {line.group for line in lines}
        if None in group_ids or len(group_ids) != 1:
            raise ValidationFailed(_("Only an organisation's own orders can go on its "
                                     "invoice."), code="invoice_only_for_groups")
        group_id = group_ids.pop()
        assert group_id is not None
        manager_of(user=user, group_id=group_id)
        group = Group.objects.get(pk=group_id)
        if not billed_by_invoice(group):
            raise PermissionDenied(_("Ask us to switch your organisation to monthly invoices."),
                                   code="invoice_needs_approval")
        return group


def settle_on_account(*, order: Order, group: Group, actor: str) -> Order:
    """Mark an order of an invoice-billed organisation paid on account and queue its
    fulfilment (the month's invoice will carry it)."""
    month = _month_start(clock.now())
    paid = orders.mark_paid(order_id=order.pk, provider=ON_ACCOUNT,
                            method=f"{group.company_name or group.name} · {month:%Y-%m}",
                            actor=actor)
    audit.record(action="order.on_account", obj=paid, actor_type="system", actor=actor,
                 after={"group": group.pk, "month": f"{month:%Y-%m}"})
    return paid


def issue_invoices(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Sweep: issue the invoices of every month that has ended (safe to run any time)."""
    instant = now or clock.now()
    current = _month_start(instant)
    due_days = int(config.env("ESIMDESK_INVOICE_DUE_DAYS"))
    # The months with orders on account, as the database groups them (not every order).
    open_months = (Order.objects.filter(paid_provider=ON_ACCOUNT,
                                        paid_at__lt=month_bounds(current)[0])
                   .exclude(status=Order.Status.CANCELLED)
                   .annotate(month=TruncMonth("paid_at", tzinfo=dt.UTC))
                   .values_list("lines__group_line__group_id", "currency", "month").distinct())
    wanted = {(group_id, currency, month.date())
              for group_id, currency, month in open_months if group_id is not None}
    issued = 0
    for group_id, currency, month in sorted(wanted):
        if MonthlyInvoice.objects.filter(group_id=group_id, month=month,
                                         currency=currency).exists():
            continue
        start, end = month_bounds(month)
        total = (Order.objects.filter(paid_provider=ON_ACCOUNT, currency=currency,
                                      paid_at__gte=start, paid_at__lt=end,
                                      lines__group_line__group_id=group_id)
                 .exclude(status=Order.Status.CANCELLED).distinct()
                 .aggregate(total=Sum("total"))["total"] or 0)
        try:
            with transaction.atomic():
                invoice = MonthlyInvoice.objects.create(
                    group_id=group_id, month=month, currency=currency, total=total,
                    number=f"INV-{group_id}-{month:%Y%m}-{currency}",
                    issued_at=instant, due_at=instant + dt.timedelta(days=due_days))
                audit.record(action="invoice.issued", obj=invoice, actor_type="task",
                             actor="invoices", after={"total": total, "currency": currency})
                _send(invoice)
        except IntegrityError:  # another scheduler issued it a moment ago
            continue
        issued += 1
    return {"issued": issued}


def _send(invoice: MonthlyInvoice) -> None:
    group = Group.objects.select_related("owner").get(pk=invoice.group_id)
    pdf = render_invoice_pdf(group=group, month=invoice.month, invoice=invoice)
    notifications.send_templated_email(
        user=group.owner, kind="group_invoice", template="group_invoice",
        dedupe_key=f"group-invoice:{invoice.pk}",
        context={"invoice": invoice, "group": group,
                 "group_url": settings.PUBLIC_URL + reverse("portal:group", args=[group.pk])},
        attachments=[{"filename": invoice_filename(group, invoice.month),
                      "mimetype": "application/pdf",
                      "content_b64": base64.b64encode(pdf).decode()}])


def mark_paid(*, invoice_id: int, by: Any, reference: str) -> MonthlyInvoice:
    """Finance: the transfer arrived. Audited with who and the bank reference."""
    if not by.has_perm("sharedplans.change_monthlyinvoice"):
        raise PermissionDenied(code="forbidden")
    text = " ".join((reference or "").split())
    if not text:
        raise ValidationFailed(code="reason_required")
    with transaction.atomic():
        invoice = MonthlyInvoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None:
            raise NotFound(code="unknown_invoice", detail={"invoice": invoice_id})
        if invoice.status == MonthlyInvoice.Status.PAID:
            raise Conflict(_("This invoice is already paid."), code="invoice_already_paid")
        invoice.status = MonthlyInvoice.Status.PAID
        invoice.paid_at = clock.now()
        invoice.paid_reference = text[:100]
        invoice.save(update_fields=["status", "paid_at", "paid_reference"])
        audit.record_by_user(user=by, action="invoice.paid", obj=invoice,
                             before={"status": "issued"}, after={"status": "paid"},
                             reason=text)
    return invoice
