"""The monthly invoice of an organisation (or a family): every group plan ordered in the
month, with one line per seat naming the member who held it, their cost centre and the data
they used in that period. A PDF in the reader's language, with the company name and tax id,
drawn like the receipts (CJK text in the CID font, so no font file ships)."""

from __future__ import annotations

import datetime as dt
import io
import re

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from esimdesk.core import clock, formats
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.money import Money
from esimdesk.core.units import format_quantity
from esimdesk.groups.models import Group, Membership
from esimdesk.orders.models import Order
from esimdesk.orders.receipts import draw_text
from esimdesk.sharedplans.models import GroupLine, MemberUsage, MonthlyInvoice

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_of(text: str) -> dt.date:
    """``YYYY-MM`` as the first day of that month; empty: the current month (UTC)."""
    if not text:
        return clock.now().date().replace(day=1)
    match = _MONTH.match(text)
    # Years 1-9998: the month's end (the next month's first instant) must be a datetime too.
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1 <= int(match.group(1)) <= 9998:
        raise ValidationFailed(code="invalid_month")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
    end = (dt.datetime(month.year + 1, 1, 1, tzinfo=dt.UTC) if month.month == 12
           else dt.datetime(month.year, month.month + 1, 1, tzinfo=dt.UTC))
    return start, end


def invoice_filename(group: Group, month: dt.date) -> str:
    return f"esimdesk-invoice-{group.pk}-{month:%Y-%m}.pdf"


def invoice_lines(group: Group, month: dt.date) -> list[dict[str, object]]:
    """The seats billed in ``month``: per group line, one entry per seat (the member who
    held it during the line's period, or none), the seat's share of the line's amount (the
    remainder of the division on the first seat, so the shares add up exactly)."""
    start, end = month_bounds(month)
    lines = (GroupLine.objects.filter(group=group, line__order__created_at__gte=start,
                                      line__order__created_at__lt=end)
             .exclude(line__order__status=Order.Status.CANCELLED)
             .select_related("line__order", "line__plan", "line__period")
             .order_by("line__order__created_at", "pk"))
    result: list[dict[str, object]] = []
    for bought in lines:
        line = bought.line
        period = line.period
        holders = list(Membership.objects.filter(group=group).select_related(
            "user", "cost_centre").order_by("joined_at", "pk"))
        if period is not None and period.starts_at is not None and period.ends_at is not None:
            holders = [m for m in holders if m.joined_at < period.ends_at
                       and (m.left_at is None or m.left_at > period.starts_at)]
            used = dict(MemberUsage.objects.filter(period=period, kind="data")
                        .values_list("membership_id", "used"))
        else:  # no period, or one waiting for its first member's first use: nothing used
            holders = [m for m in holders if m.left_at is None]
            used = {}
        share, rest = divmod(line.amount, bought.members)
        for seat in range(bought.members):
            member = holders[seat] if seat < len(holders) else None
            result.append({
                "order": line.order.number, "plan": line.plan.name,
                "period": period, "member": member,
                "cost_centre": member.cost_centre.code if member and member.cost_centre else "",
                "data_used": used.get(member.pk, 0) if member else 0,
                "amount": Money(share + (rest if seat == 0 else 0), line.order.currency),
            })
    return result


def render_invoice_pdf(*, group: Group, month: dt.date, language: str | None = None,
                       invoice: MonthlyInvoice | None = None) -> bytes:
    """The month's statement; with ``invoice`` (billing by invoice) also its number, due date
    and the amount due for the orders placed on account."""

    owner = group.owner
    seats = invoice_lines(group, month)
    with translation.override(language or owner.language), timezone.override(owner.tz):
        money_lang = translation.get_language()
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
        title = _("Invoice %(month)s") % {"month": formats.month(month)}
        pdf.setTitle(title)
        pdf.setAuthor("esimdesk")
        width, height = A4
        left, right = 20 * mm, width - 20 * mm
        y = height - 25 * mm
        draw_text(pdf, left, y, title, size=20, bold=True)
        draw_text(pdf, right, y, "esimdesk", right=True)
        y -= 12 * mm
        facts = [(_("Invoice number"), invoice.number if invoice
                  else f"INV-{group.pk}-{month:%Y%m}"),
                 (_("Billed to"), group.company_name or group.name),
                 (_("Tax ID"), group.tax_id or "-"),
                 (_("Contact"), owner.name or str(owner)),
                 (_("Seats"), str(len(seats)))]
        if invoice is not None:
            facts += [(_("Amount due"), invoice.total_money.format(money_lang)),
                      (_("Due by"), formats.date(invoice.due_at))]
        for label, value in facts:
            draw_text(pdf, left, y, label, bold=True)
            draw_text(pdf, 70 * mm, y, value)
            y -= 6 * mm
        y -= 6 * mm
        pdf.setStrokeColor(colors.HexColor("#0f766e"))
        pdf.line(left, y + 4 * mm, right, y + 4 * mm)
        for x, label in [(left, _("Member")), (95 * mm, _("Cost centre")),
                         (125 * mm, _("Data used"))]:
            draw_text(pdf, x, y, label, bold=True)
        draw_text(pdf, right, y, _("Amount"), bold=True, right=True)
        y -= 7 * mm
        total = 0
        currency = "USD"
        for seat in seats:
            if y < 30 * mm:
                pdf.showPage()
                y = height - 25 * mm
            member = seat["member"]
            name = (member.user.name or str(member.user)) if isinstance(member, Membership) \
                else _("Unassigned seat")
            period = seat["period"]
            starts_at = getattr(period, "starts_at", None)
            when = (formats.date(starts_at)
                    if starts_at is not None
                    else _("from first use") if period is not None else "")
            draw_text(pdf, left, y, f"{name} · {seat['plan']} {when}"[:50], size=9)
            draw_text(pdf, 95 * mm, y, str(seat["cost_centre"]) or "-", size=9)
            draw_text(pdf, 125 * mm, y, format_quantity("data", int(seat["data_used"])),  # type: ignore[call-overload]
                      size=9)
            amount = seat["amount"]
            assert isinstance(amount, Money)
            draw_text(pdf, right, y, amount.format(money_lang), size=9, right=True)
            total += amount.amount
            currency = amount.currency
            y -= 5.5 * mm
        y -= 2 * mm
        pdf.line(left, y + 4 * mm, right, y + 4 * mm)
        draw_text(pdf, left, y - 2 * mm, _("Total"), size=12, bold=True)
        draw_text(pdf, right, y - 2 * mm, Money(total, currency).format(money_lang), size=12,
                  bold=True, right=True)
        pdf.showPage()
        pdf.save()
        return buffer.getvalue()
