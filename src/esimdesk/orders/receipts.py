"""PDF receipts, drawn with ReportLab in the customer's language.

Chinese text uses ReportLab's built-in CID font STSong-Light, which PDF readers supply, so
no font file has to ship with esimdesk.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from esimdesk.orders.models import Order

_CJK_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))


def receipt_filename(order: Order) -> str:
    return f"esimdesk-receipt-{order.number}.pdf"


def render_receipt_pdf(order: Order, *, language: str | None = None) -> bytes:
    receipt = order.receipt
    user = order.user
    lang = language or user.language
    with translation.override(lang), timezone.override(user.tz):
        money_lang = translation.get_language()
        font = _CJK_FONT if lang.startswith("zh") else "Helvetica"
        bold = _CJK_FONT if lang.startswith("zh") else "Helvetica-Bold"
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
        pdf.setTitle(_("Receipt %(number)s") % {"number": receipt.number})
        pdf.setAuthor("esimdesk")
        width, height = A4
        y = height - 25 * mm
        pdf.setFont(bold, 20)
        pdf.drawString(20 * mm, y, _("Receipt"))
        pdf.setFont(font, 10)
        pdf.drawRightString(width - 20 * mm, y, "esimdesk")
        y -= 12 * mm
        local_paid = timezone.localtime(order.paid_at or receipt.issued_at)
        rows = [
            (_("Receipt number"), receipt.number),
            (_("Order"), order.number),
            (_("Date paid"), date_format(local_paid, "DATETIME_FORMAT")),
            (_("Time zone"), str(user.tz)),
            (_("Billed to"), user.name or str(user)),
            (_("Payment method"), order.paid_with or "-"),
        ]
        for label, value in rows:
            pdf.setFont(bold, 10)
            pdf.drawString(20 * mm, y, label)
            pdf.setFont(font, 10)
            pdf.drawString(70 * mm, y, value)
            y -= 6 * mm
        y -= 6 * mm
        pdf.setStrokeColor(colors.HexColor("#0f766e"))
        pdf.line(20 * mm, y + 4 * mm, width - 20 * mm, y + 4 * mm)
        pdf.setFont(bold, 10)
        pdf.drawString(20 * mm, y, _("Description"))
        pdf.drawRightString(width - 20 * mm, y, _("Amount"))
        y -= 7 * mm
        for line in order.lines.select_related("plan", "esim"):
            pdf.setFont(font, 10)
            text = line.description
            if line.esim_id:
                text += f"  (ICCID {line.esim.iccid})"  # type: ignore[union-attr]
            pdf.drawString(20 * mm, y, text[:95])
            pdf.drawRightString(width - 20 * mm, y, line.money.format(money_lang))
            y -= 6 * mm
        y -= 2 * mm
        pdf.line(20 * mm, y + 4 * mm, width - 20 * mm, y + 4 * mm)
        pdf.setFont(bold, 12)
        pdf.drawString(20 * mm, y - 2 * mm, _("Total paid"))
        pdf.drawRightString(width - 20 * mm, y - 2 * mm, order.total_money.format(money_lang))
        pdf.setFont(font, 8)
        pdf.setFillColor(colors.grey)
        pdf.drawString(20 * mm, 15 * mm, _("Questions? %(email)s · %(phone)s") % {
            "email": settings.ESIMDESK["SUPPORT_EMAIL"],
            "phone": settings.ESIMDESK["SUPPORT_PHONE"]})
        pdf.showPage()
        pdf.save()
        return buffer.getvalue()
