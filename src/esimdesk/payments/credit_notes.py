"""Credit notes: the document for money paid back, in the customer's language."""

from __future__ import annotations

import io

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from esimdesk.core import formats
from esimdesk.core.money import Money
from esimdesk.orders.receipts import draw_text
from esimdesk.payments.models import Refund


def credit_note_filename(refund: Refund) -> str:
    return f"esimdesk-credit-note-{refund.credit_note_number or refund.public_id}.pdf"


def render_credit_note_pdf(refund: Refund) -> bytes:
    payment = refund.payment
    order = payment.order
    user = order.user
    with translation.override(user.language), timezone.override(user.tz):
        lang = translation.get_language()
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
        pdf.setTitle(_("Credit note %(number)s") % {"number": refund.credit_note_number})
        width, height = A4
        left, right = 20 * mm, width - 20 * mm
        y = height - 25 * mm
        draw_text(pdf, left, y, _("Credit note"), size=20, bold=True)
        draw_text(pdf, right, y, "esimdesk", right=True)
        y -= 12 * mm
        receipt = getattr(order, "receipt", None)
        rows = [
            (_("Credit note number"), refund.credit_note_number or "-"),
            (_("Order"), order.number),
            (_("Receipt"), receipt.number if receipt else "-"),
            (_("Date refunded"), formats.datetime_zone(refund.succeeded_at
                                                       or refund.created_at)),
            (_("Refunded to"), f"{order.paid_with or payment.provider}"),
            (_("Customer"), user.name or str(user)),
            (_("Reason"), refund.reason or "-"),
        ]
        for label, value in rows:
            draw_text(pdf, left, y, label, bold=True)
            draw_text(pdf, 70 * mm, y, value[:80])
            y -= 6 * mm
        y -= 6 * mm
        pdf.setStrokeColor(colors.HexColor("#0f766e"))
        pdf.line(left, y + 4 * mm, right, y + 4 * mm)
        draw_text(pdf, left, y, _("Original payment"))
        draw_text(pdf, right, y, payment.money.format(lang), right=True)
        y -= 7 * mm
        draw_text(pdf, left, y, _("Refunded"), size=12, bold=True)
        draw_text(pdf, right, y, Money(-refund.amount, refund.currency).format(lang), size=12,
                  bold=True, right=True)
        pdf.setFillColor(colors.grey)
        draw_text(pdf, left, 15 * mm, _("Questions? %(email)s · %(phone)s") % {
            "email": settings.ESIMDESK["SUPPORT_EMAIL"],
            "phone": settings.ESIMDESK["SUPPORT_PHONE"]}, size=8)
        pdf.showPage()
        pdf.save()
        return buffer.getvalue()
