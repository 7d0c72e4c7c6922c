"""What a confirmed refund changes besides money: the refund policy.

- A full refund takes back what the order bought, each line by its kind
  (``LineKind.take_back``): each period it created is cancelled if it has not started, or
  ends now if it has; later queued periods move up. An eSIM the order created that was
  never installed is revoked. A top-up loses what is left of its buckets (docs/topups.md).
- A partial refund is a goodwill gesture: the service stays as it is.
Either way the customer gets an e-mail with the credit note.
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.urls import reverse

from esimdesk.notifications import services as notifications
from esimdesk.orders.kinds import registry as kinds
from esimdesk.payments.credit_notes import credit_note_filename, render_credit_note_pdf
from esimdesk.payments.models import Payment, Refund


def after_refund(*, refund: Refund, payment: Payment) -> None:
    order = payment.order
    if payment.status == Payment.Status.SUCCEEDED and payment.refunded >= payment.amount:
        for line in order.lines.select_related("period", "esim"):
            kinds.kind_for(line.type).take_back(line=line, actor="refund",
                                                reason=f"refund {refund.public_id}")
    _tell_customer(refund, payment)


def _tell_customer(refund: Refund, payment: Payment) -> None:
    order = payment.order
    pdf = render_credit_note_pdf(refund)
    notifications.send_templated_email(
        user=order.user, kind="refund_confirmation", template="refund_confirmation",
        dedupe_key=f"refund-confirmation:{refund.pk}",
        context={"refund": refund, "order": order, "payment": payment,
                 "order_url": settings.PUBLIC_URL + reverse("portal:order",
                                                            args=[order.number])},
        attachments=[{"filename": credit_note_filename(refund), "mimetype": "application/pdf",
                      "content_b64": base64.b64encode(pdf).decode()}])
