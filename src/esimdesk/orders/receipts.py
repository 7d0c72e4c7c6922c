"""PDF receipts, drawn with ReportLab in the customer's language.

Chinese text uses ReportLab's built-in CID font STSong-Light, which PDF readers supply, so
no font file has to ship with esimdesk.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from esimdesk.core import formats
from esimdesk.core.money import Money
from esimdesk.orders.models import Order

_CJK_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))


def receipt_filename(order: Order) -> str:
    return f"esimdesk-receipt-{order.number}.pdf"


def _runs(text: str, bold: bool) -> list[tuple[str, str]]:
    """Split text into runs per font: CJK in the CID font, the rest in Helvetica (which
    has the bullets and middle dots the CID font lacks)."""
    latin = "Helvetica-Bold" if bold else "Helvetica"
    runs: list[tuple[str, str]] = []
    for char in text:
        font = _CJK_FONT if ord(char) >= 0x2E80 else latin
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return runs


def draw_text(pdf: canvas.Canvas, x: float, y: float, text: str, *, size: float = 10,
          bold: bool = False, right: bool = False) -> None:
    runs = _runs(text, bold)
    if right:
        x -= sum(pdfmetrics.stringWidth(chunk, font, size) for font, chunk in runs)
    for font, chunk in runs:
        pdf.setFont(font, size)
        pdf.drawString(x, y, chunk)
        x += pdfmetrics.stringWidth(chunk, font, size)


def render_receipt_pdf(order: Order, *, language: str | None = None) -> bytes:
    receipt = order.receipt
    user = order.user
    lang = language or user.language
    with translation.override(lang), timezone.override(user.tz):
        money_lang = translation.get_language()
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
        pdf.setTitle(_("Receipt %(number)s") % {"number": receipt.number})
        pdf.setAuthor("esimdesk")
        width, height = A4
        left, right = 20 * mm, width - 20 * mm
        y = height - 25 * mm
        draw_text(pdf, left, y, _("Receipt"), size=20, bold=True)
        draw_text(pdf, right, y, "esimdesk", right=True)
        y -= 12 * mm
        rows = [
            (_("Receipt number"), receipt.number),
            (_("Order"), order.number),
            (_("Date paid"), formats.datetime(order.paid_at or receipt.issued_at)),
            (_("Time zone"), formats.zone_label()),
            (_("Billed to"), user.name or str(user)),
            (_("Payment method"), order.paid_with or "-"),
        ]
        for label, value in rows:
            draw_text(pdf, left, y, label, bold=True)
            draw_text(pdf, 70 * mm, y, value)
            y -= 6 * mm
        y -= 6 * mm
        pdf.setStrokeColor(colors.HexColor("#0f766e"))
        pdf.line(left, y + 4 * mm, right, y + 4 * mm)
        draw_text(pdf, left, y, _("Description"), bold=True)
        draw_text(pdf, right, y, _("Amount"), bold=True, right=True)
        y -= 7 * mm
        for line in order.lines.select_related("plan", "esim", "product"):
            text = line.label
            if line.esim_id:
                text += f"  (ICCID {line.esim.iccid})"  # type: ignore[union-attr]
            rows = [(text, line.money)]
            if line.credit:
                # A line bought partly with credit (a plan change now): the new plan's
                # price, less the credit, plus what the credit paid back.
                rows = [(text, Money(line.value, order.currency)),
                        ("    " + _("Credit for the unused part of the plan it replaced"),
                         Money(-line.credit, order.currency))]
                if line.refund_amount:
                    rows.append(("    " + _("Paid back to the original payment"),
                                 line.refund_money))
            for label, amount in rows:
                draw_text(pdf, left, y, label[:95])
                draw_text(pdf, right, y, amount.format(money_lang), right=True)
                y -= 6 * mm
        y -= 2 * mm
        pdf.line(left, y + 4 * mm, right, y + 4 * mm)
        draw_text(pdf, left, y - 2 * mm, _("Total paid"), size=12, bold=True)
        draw_text(pdf, right, y - 2 * mm, order.total_money.format(money_lang), size=12, bold=True,
              right=True)
        pdf.setFillColor(colors.grey)
        draw_text(pdf, left, 15 * mm, _("Questions? %(email)s · %(phone)s") % {
            "email": settings.ESIMDESK["SUPPORT_EMAIL"],
            "phone": settings.ESIMDESK["SUPPORT_PHONE"]}, size=8)
        pdf.showPage()
        pdf.save()
        return buffer.getvalue()
